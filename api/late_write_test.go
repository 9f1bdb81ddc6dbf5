package api

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// lateStore gives up an armed write with its caller's context, then applies
// it when the test lets it: a server that runs a statement its client
// stopped waiting for (one queued behind a row lock, a COMMIT whose reply
// was lost).
type lateStore[T any] struct {
	*memory.Store[T]
	armed  chan struct{} // a token arms the next Set, Delete or Commit
	land   chan struct{} // closed: the late write is applied
	landed chan error    // the late write's outcome
}

func (s lateStore[T]) Set(ctx context.Context, key string, v T, wr store.Write) (merge.Version, error) {
	if err := s.late(ctx, func() error { _, err := s.Store.Set(context.Background(), key, v, wr); return err }); err != nil {
		return 0, err
	}
	return s.Store.Set(ctx, key, v, wr)
}

func (s lateStore[T]) Delete(ctx context.Context, key string, wr store.Write) (merge.Version, error) {
	if err := s.late(ctx, func() error { _, err := s.Store.Delete(context.Background(), key, wr); return err }); err != nil {
		return 0, err
	}
	return s.Store.Delete(ctx, key, wr)
}

func (s lateStore[T]) Commit(ctx context.Context, ops []store.Op[T]) ([]merge.Version, error) {
	if err := s.late(ctx, func() error { _, err := s.Store.Commit(context.Background(), ops); return err }); err != nil {
		return nil, err
	}
	return s.Store.Commit(ctx, ops)
}

// late, for an armed write, waits for ctx to end, leaves apply to run once
// land is closed, and returns the error the writer sees; nil otherwise.
func (s lateStore[T]) late(ctx context.Context, apply func() error) error {
	select {
	case <-s.armed:
	default:
		return nil
	}
	<-ctx.Done()
	go func() {
		<-s.land
		s.landed <- apply()
	}()
	return fmt.Errorf("late store: gave up waiting, the write may still be applied: %w", ctx.Err())
}

// A strong write whose store call ends without an outcome (its context
// ended; the server applies it afterwards) leaves its fences on, on the
// writer and on the peer, until they expire: neither caches the key's old
// value meanwhile, so once the write lands both serve it. Releasing the
// fences with the error, as before, let the peer cache the old value,
// which it then served after the write had landed: a stale strong read.
func TestAmbiguousStrongWriteKeepsItsFences(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"set", "delete", "commit"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			ambiguousStrongWrite(t, "late-"+op, op)
		})
	}
}

func ambiguousStrongWrite(t *testing.T, cluster, op string) {
	ctx := context.Background()
	mem := memory.New[string](memory.Options{})
	late := lateStore[string]{Store: mem, armed: make(chan struct{}, 1), land: make(chan struct{}), landed: make(chan error, 1)}
	hub := inproc.NewHub()
	barrier := make(chan struct{}, 1) // l1 applied l0's write of e:barrier
	listen := func(inv Invalidation) {
		if inv.Key == "e:barrier" {
			select {
			case barrier <- struct{}{}:
			default:
			}
		}
	}
	var nodes []*Warp[string]
	for i, s := range []store.Store[string]{late, mem} {
		w, err := New[string](s,
			WithInvalidationListener[string](listen),
			WithNodeConfig[string](actors.Config{ID: []string{"l0", "l1"}[i]}),
			WithBus[string](bus.Config{Cluster: cluster, Transport: hub.Transport(),
				HeartbeatInterval: 20 * time.Millisecond, LeaseDuration: 100 * time.Millisecond,
				MemberLease: 400 * time.Millisecond, StrongTimeout: 500 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		if err := w.Register("s:*", ModeStrongDistributed, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := w.Register("e:*", ModeEventualDistributed, time.Hour); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, w)
	}
	waitFor(t, 10*time.Second, "both leases", func() bool { return nodes[0].Bus().LeaseValid() && nodes[1].Bus().LeaseValid() })
	if err := nodes[0].Set(ctx, "s:1", "old"); err != nil {
		t.Fatal(err)
	}
	cached := func(w *Warp[string]) bool { _, ok := w.router.Shard(w.router.Hash("s:1")).Load("s:1"); return ok }
	// Past the join's grace period, both nodes cache the key.
	waitFor(t, 10*time.Second, "both nodes caching s:1", func() bool {
		for _, w := range nodes {
			if _, err := w.Get(ctx, "s:1"); err != nil || !cached(w) {
				return false
			}
		}
		return true
	})
	late.armed <- struct{}{}
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	var err error
	switch op {
	case "delete":
		err = nodes[0].deleteWrite(wctx, "s:1", store.Write{}) // what DeleteFenced runs
	case "commit":
		txn := nodes[0].Txn(wctx)
		txn.Set("s:1", "new")
		err = txn.Commit()
	default:
		err = nodes[0].Set(wctx, "s:1", "new")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the %s whose store call gave up: %v; want an error wrapping context.DeadlineExceeded", op, err)
	}
	// An eventual write after it: l0 publishes its invalidation after a
	// release of s:1, had it sent one, and l1 applies them in that order.
	if err := nodes[0].Set(ctx, "e:barrier", "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-barrier:
	case <-time.After(10 * time.Second):
		t.Fatal("l1 never applied l0's write of e:barrier")
	}
	// The write has not landed: both nodes read the old value, and cache
	// nothing (were the fences released, they would cache it).
	for i, w := range nodes {
		for range 3 {
			if got, err := w.Get(ctx, "s:1"); err != nil || got != "old" {
				t.Fatalf("node %d before the late write: %q, %v; want old", i, got, err)
			}
		}
		if cached(w) {
			t.Errorf("node %d cached s:1 while a write of it may still land", i)
		}
	}
	close(late.land)
	if err := <-late.landed; err != nil {
		t.Fatalf("the late write: %v", err)
	}
	for i, w := range nodes {
		got, err := w.Get(ctx, "s:1")
		switch {
		case op == "delete" && !errors.Is(err, ErrNotFound):
			t.Errorf("node %d after the late delete landed: %q, %v; want ErrNotFound", i, got, err)
		case op != "delete" && (err != nil || got != "new"):
			t.Errorf("node %d after the late write landed: %q, %v; want new (a stale strong read)", i, got, err)
		}
	}
}
