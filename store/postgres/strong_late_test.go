package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/store/postgres"
)

// A strong write through Warp queued behind a row lock past its write
// bound, end to end on PostgreSQL: Set fails with its deadline and its
// outcome is open (pgx, giving up, asks the server to cancel the
// statement, a request that can come too late), so the writer resigns
// its membership record, which settles it. While the lock is held both
// nodes read the old value; once the writer is back, both read whatever
// the store holds, and keep reading it. docs/syncbus.md, "A write that
// may land late".
func TestStrongWriteBehindARowLock(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	s, table := newTable(t, pool, postgres.Config{})
	ctx := t.Context()
	hub := inproc.NewHub()
	var nodes []*api.Warp[[]byte]
	for i := range 2 {
		w, err := api.New[[]byte](s,
			api.WithNodeConfig[[]byte](actors.Config{ID: fmt.Sprintf("n%d", i)}),
			api.WithBus[[]byte](bus.Config{Cluster: table, Transport: hub.Transport(),
				HeartbeatInterval: 20 * time.Millisecond, LeaseDuration: 100 * time.Millisecond,
				MemberLease: 400 * time.Millisecond, StrongTimeout: 300 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		must(t, w.Register("s:*", api.ModeStrongDistributed, time.Hour))
		nodes = append(nodes, w)
	}
	leases := func() bool { return nodes[0].Bus().LeaseValid() && nodes[1].Bus().LeaseValid() }
	until(t, "both leases", leases)
	must(t, nodes[0].Set(ctx, "s:1", []byte("old")))
	read := func(i int, want []byte, when string) {
		t.Helper()
		got, err := nodes[i].Get(ctx, "s:1")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("node %d %s: %q, %v; want %q", i, when, got, err, want)
		}
	}
	epoch, _ := nodes[0].Bus().Member()
	_, unlock := lockRow(t, pool, table, "s:1")
	t.Cleanup(unlock) // before the pool closes, which waits for the lock's connection
	if err := nodes[0].Set(ctx, "s:1", []byte("new")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Set behind a row lock: %v; want an error wrapping context.DeadlineExceeded", err)
	}
	for i := range nodes {
		read(i, []byte("old"), "while the row is locked")
	}
	unlock()
	until(t, "the writer back under a new epoch, both leases", func() bool {
		e, ok := nodes[0].Bus().Member()
		return ok && e > epoch && leases()
	})
	it, err := s.Get(ctx, "s:1")
	must(t, err)
	for range 20 {
		for i := range nodes {
			read(i, it.Value, "once the write is settled")
		}
	}
}

// until polls cond every 10 ms, failing the test after waitLimit.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", waitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
