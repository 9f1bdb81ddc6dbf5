package api

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
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
	leave  chan struct{} // closed: Leave goes through (nil: at once)
}

func newLateStore[T any](mem *memory.Store[T], holdLeave bool) lateStore[T] {
	s := lateStore[T]{Store: mem, armed: make(chan struct{}, 1), land: make(chan struct{}), landed: make(chan error, 1)}
	if holdLeave {
		s.leave = make(chan struct{})
	}
	return s
}

// Leave waits, if the test holds it, then removes the record.
func (s lateStore[T]) Leave(ctx context.Context, cluster, node string, incarnation uint64) error {
	if s.leave != nil {
		select {
		case <-s.leave:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Store.Leave(ctx, cluster, node, incarnation)
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

// settleMemberLease is the membership lease of the tests that hold a
// resigning node's Leave: a resigning node stops renewing, so its peer
// expels its record once the lease has run out since the last renewal,
// and what these tests check while the record is held (a late write that
// lands before the record is gone; no rejoin before the Leave) must happen
// within it. At 400 ms a loaded host (make test's race-detector run) let
// the record expire first.
const settleMemberLease = 3 * time.Second

// A strong write whose store call ends without an outcome (its context
// ended; the server applies it afterwards) is settled by its writer giving
// up its membership record, and until then no node caches the key: the
// writer's fences stay on until they expire, here and on the peer, and the
// writer, no longer a member, holds no lease and lends none. So a write
// that lands before the record is gone is read by both nodes, and one that
// comes after is refused by the store. Releasing the fences with the
// error, as before, let both nodes cache the old value and serve it after
// the write had landed: a stale strong read.
func TestAmbiguousStrongWriteIsSettled(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"set", "delete", "commit"} {
		for _, lands := range []string{"before", "after"} {
			t.Run(op+"/lands-"+lands+"-the-leave", func(t *testing.T) {
				t.Parallel()
				ambiguousStrongWrite(t, "late-"+op+"-"+lands, op, lands == "before")
			})
		}
	}
}

func ambiguousStrongWrite(t *testing.T, cluster, op string, landsFirst bool) {
	ctx := context.Background()
	mem := memory.New[string](memory.Options{})
	late := newLateStore(mem, landsFirst)
	nodes := strongPair(t, cluster, 500*time.Millisecond, settleMemberLease, late, mem)
	leases := func() bool { return nodes[0].Bus().LeaseValid() && nodes[1].Bus().LeaseValid() }
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
	epoch, _ := nodes[0].Bus().Member()
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
	if nodes[0].router.Shard(nodes[0].router.Hash("s:1")).Fences() == 0 {
		t.Error("the writer released its fence on a write that may still land")
	}
	// The write has not landed: both nodes read the old value, and cache
	// nothing.
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
	want := "new" // what both nodes read once the write is settled
	if landsFirst {
		close(late.land)
		if err := <-late.landed; err != nil {
			t.Fatalf("the late write, before the writer's record is gone: %v", err)
		}
		for i, w := range nodes {
			checkRead(t, ctx, w, i, op, want, "after the late write landed")
		}
		close(late.leave)
	} else {
		want = "old"
	}
	waitFor(t, 10*time.Second, "the writer back under a new epoch, both leases", func() bool {
		e, ok := nodes[0].Bus().Member()
		return ok && e > epoch && leases()
	})
	if !landsFirst {
		close(late.land)
		if err := <-late.landed; !errors.Is(err, store.ErrNotMember) {
			t.Fatalf("the late write, after the writer gave up its record: %v; want store.ErrNotMember", err)
		}
	}
	for i, w := range nodes {
		checkRead(t, ctx, w, i, op, want, "once the write is settled")
		checkRead(t, ctx, w, i, op, want, "once the write is settled, again")
	}
}

// checkRead checks node i's read of s:1: want, or not found after a delete
// that landed.
func checkRead(t *testing.T, ctx context.Context, w *Warp[string], i int, op, want, when string) {
	t.Helper()
	got, err := w.Get(ctx, "s:1")
	switch {
	case op == "delete" && want != "old":
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("node %d %s: %q, %v; want ErrNotFound", i, when, got, err)
		}
	case err != nil || got != want:
		t.Errorf("node %d %s: %q, %v; want %q", i, when, got, err, want)
	}
}

// A caller that gives up on a strong write while its store write is in
// flight gets its context's error at once, but the store write goes on,
// within its bound: when it ends, applied, the fences are released and
// the node stays a member. Cutting the store write short with the caller's
// context would leave its outcome open and cost a resignation.
func TestStrongWriteOutlivesItsCaller(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"set", "commit"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			mem := memory.New[string](memory.Options{})
			gate := gateStore[string]{Store: mem, armed: make(chan struct{}, 1), entered: make(chan struct{}), open: make(chan struct{})}
			nodes := strongPair(t, "outlive-"+op, 3*time.Second, 400*time.Millisecond, gate, mem)
			epoch, _ := nodes[0].Bus().Member()
			gate.armed <- struct{}{}
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				if op == "commit" {
					txn := nodes[0].Txn(wctx)
					txn.Set("s:1", "new")
					done <- txn.Commit()
					return
				}
				done <- nodes[0].Set(wctx, "s:1", "new")
			}()
			<-gate.entered // fenced everywhere; the store write waits
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("the %s whose caller gave up: %v; want an error wrapping context.Canceled", op, err)
				}
			case <-time.After(10 * time.Second):
				close(gate.open)
				t.Fatalf("the %s still waits for its store write 10 s after its caller gave up", op)
			}
			close(gate.open)
			waitFor(t, 10*time.Second, "both nodes reading the write", func() bool {
				for _, w := range nodes {
					if got, err := w.Get(ctx, "s:1"); err != nil || got != "new" {
						return false
					}
				}
				return true
			})
			if e, ok := nodes[0].Bus().Member(); !ok || e != epoch {
				t.Fatalf("the writer is at epoch %d (member %v) after a write that applied; want %d: no resignation", e, ok, epoch)
			}
			waitFor(t, 10*time.Second, "the fences released on both nodes", func() bool {
				for _, w := range nodes {
					if w.router.Shard(w.router.Hash("s:1")).Fences() != 0 {
						return false
					}
				}
				return true
			})
		})
	}
}

// strongPair starts two nodes of cluster on an in-process bus, node i on
// stores[i], fast timings but strongTimeout, with s:* StrongDistributed,
// and returns them once both hold their leases.
func strongPair(t *testing.T, cluster string, strongTimeout, memberLease time.Duration, stores ...store.Store[string]) []*Warp[string] {
	t.Helper()
	hub := inproc.NewHub()
	var nodes []*Warp[string]
	for i, s := range stores {
		w, err := New[string](s,
			WithNodeConfig[string](actors.Config{ID: fmt.Sprintf("%s-%d", cluster, i)}),
			WithBus[string](bus.Config{Cluster: cluster, Transport: hub.Transport(),
				HeartbeatInterval: 20 * time.Millisecond, LeaseDuration: 100 * time.Millisecond,
				MemberLease: memberLease, StrongTimeout: strongTimeout}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		if err := w.Register("s:*", ModeStrongDistributed, time.Hour); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, w)
	}
	waitFor(t, 10*time.Second, "every lease", func() bool {
		for _, w := range nodes {
			if !w.Bus().LeaseValid() {
				return false
			}
		}
		return true
	})
	return nodes
}

// returnsStore marks when its Set call has returned.
type returnsStore struct {
	gateStore[string]
	returned *atomic.Bool
}

func (s returnsStore) Set(ctx context.Context, key string, v string, wr store.Write) (merge.Version, error) {
	defer s.returned.Store(true)
	return s.gateStore.Set(ctx, key, v, wr)
}

// Close waits for a strong write's store call that outlived its caller: an
// instance closed while one is in flight returns only once that call has
// returned, so nothing the instance started runs on after Close.
func TestCloseWaitsForADetachedStrongWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := memory.New[string](memory.Options{})
	gate := gateStore[string]{Store: mem, armed: make(chan struct{}, 1), entered: make(chan struct{}), open: make(chan struct{})}
	returned := new(atomic.Bool)
	nodes := strongPair(t, "close-detached", 3*time.Second, 400*time.Millisecond, returnsStore{gate, returned}, mem)
	gate.armed <- struct{}{}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- nodes[0].Set(wctx, "s:1", "new") }()
	<-gate.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		close(gate.open)
		t.Fatalf("the set whose caller gave up: %v; want an error wrapping context.Canceled", err)
	}
	closed := make(chan struct{})
	go func() {
		_ = nodes[0].Close()
		close(closed)
	}()
	select {
	case <-closed:
		close(gate.open)
		t.Fatal("Close returned while a strong write's store call was in flight")
	case <-time.After(200 * time.Millisecond): // Close waits, as it should
	}
	close(gate.open)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s of the store call's end")
	}
	if !returned.Load() {
		t.Fatal("Close returned before the store call did")
	}
}

// While a node resigns, until the store has removed its record, no member
// holds a lease, so every node reads strong keys from the store and caches
// none: what settling an ambiguous write costs the cluster, and what keeps
// a peer that missed the write's fence from serving the old value. Here
// the store is written behind the cluster's back (as a late write lands
// on a peer that missed its fence) while the record's removal is held.
func TestResigningNodeStopsStrongCaching(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := memory.New[string](memory.Options{})
	late := newLateStore(mem, true)
	nodes := strongPair(t, "resigning", 500*time.Millisecond, settleMemberLease, late, mem)
	if err := nodes[0].Set(ctx, "s:1", "old"); err != nil {
		t.Fatal(err)
	}
	cached := func(w *Warp[string], k string) bool { _, ok := w.router.Shard(w.router.Hash(k)).Load(k); return ok }
	waitFor(t, 10*time.Second, "both nodes caching s:1", func() bool {
		for _, w := range nodes {
			if _, err := w.Get(ctx, "s:1"); err != nil || !cached(w, "s:1") {
				return false
			}
		}
		return true
	})
	epoch, _ := nodes[0].Bus().Member()
	nodes[0].Bus().Resign(epoch)
	waitFor(t, 10*time.Second, "no lease on either node", func() bool {
		return !nodes[0].Bus().LeaseValid() && !nodes[1].Bus().LeaseValid()
	})
	for _, k := range []string{"s:1", "s:2"} {
		if _, err := mem.Set(ctx, k, "new", store.Write{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range nodes {
		for _, k := range []string{"s:1", "s:2"} {
			for range 3 {
				if got, err := w.Get(ctx, k); err != nil || got != "new" {
					t.Fatalf("node %d read %s as %q, %v while a node resigns; want the store's new", i, k, got, err)
				}
			}
		}
		if cached(w, "s:2") {
			t.Errorf("node %d cached s:2, first read while a node resigns", i)
		}
	}
	if e, _ := nodes[0].Bus().Member(); e != epoch {
		t.Fatalf("the resigning node rejoined (epoch %d, was %d) before its record was removed", e, epoch)
	}
	close(late.leave)
	waitFor(t, 10*time.Second, "the resigned node back under a new epoch, both leases", func() bool {
		e, ok := nodes[0].Bus().Member()
		return ok && e > epoch && nodes[0].Bus().LeaseValid() && nodes[1].Bus().LeaseValid()
	})
	waitFor(t, 10*time.Second, "both nodes caching s:2 again, past the grace period", func() bool {
		for _, w := range nodes {
			if got, err := w.Get(ctx, "s:2"); err != nil || got != "new" || !cached(w, "s:2") {
				return false
			}
		}
		return true
	})
}
