package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

func TestTxnCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWarp(t, memory.New[string](memory.Options{}))
	_ = w.Register("k:*", ModeStrongLocal, time.Minute)
	_ = w.Set(ctx, "k:gone", "x")
	_ = w.Set(ctx, "k:cas", "old")
	for _, k := range []string{"k:gone", "k:cas"} {
		_, _ = w.Get(ctx, k) // cached
	}
	txn := w.Txn(ctx)
	txn.Set("k:a", "A")
	txn.Delete("k:gone")
	txn.CompareAndSwap("k:cas", "old", "new")
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"k:a": "A", "k:cas": "new"} {
		if v, err := w.Get(ctx, k); err != nil || v != want {
			t.Errorf("Get(%s) = %q, %v; want %q", k, v, err, want)
		}
	}
	if _, err := w.Get(ctx, "k:gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted key: err = %v; want ErrNotFound", err)
	}
	if err := txn.Commit(); err == nil {
		t.Error("second Commit succeeded; want an error")
	}
	bad := w.Txn(ctx)
	bad.Set("k:b", "B")
	bad.Set("unregistered", "x")
	if err := bad.Commit(); !errors.Is(err, ErrUnregistered) {
		t.Errorf("txn with an unregistered key: err = %v; want ErrUnregistered", err)
	}
	if _, err := w.Get(ctx, "k:b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a rejected txn applied a write: err = %v", err)
	}
}

// TestTxnFailedCASAppliesNothing: 200 transactions whose compare-and-swap
// fails; a concurrent reader never sees any of their other writes, and

// TestTxnCommitsOnce: a second Commit, and an operation added after the
// first, fail with ErrTxnDone and write nothing.
func TestTxnCommitsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWarp(t, memory.New[string](memory.Options{}))
	_ = w.Register("k:*", ModeStrongLocal, time.Minute)
	txn := w.Txn(ctx)
	txn.Set("k:a", "A")
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); !errors.Is(err, ErrTxnDone) {
		t.Fatalf("second Commit: err = %v; want ErrTxnDone", err)
	}
	late := w.Txn(ctx)
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	late.Set("k:b", "B")
	if err := late.Commit(); !errors.Is(err, ErrTxnDone) {
		t.Fatalf("Commit after a late Set: err = %v; want ErrTxnDone", err)
	}
	if _, err := w.Get(ctx, "k:b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of the late Set's key: err = %v; want ErrNotFound (nothing written)", err)
	}
}

// neither does the store.
func TestTxnFailedCASAppliesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New[int](memory.Options{})
	w := newWarp(t, st)
	_ = w.Register("k:*", ModeStrongLocal, time.Minute)
	_ = w.Set(ctx, "k:a", 0)
	_ = w.Set(ctx, "k:b", 0)
	_ = w.Set(ctx, "k:c", 0)
	var stop atomic.Bool
	var seen atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1_000_000 && !stop.Load(); i++ {
			for _, k := range []string{"k:a", "k:b"} {
				if v, _ := w.Get(ctx, k); v != 0 {
					seen.Store(int64(v))
				}
			}
		}
	}()
	for i := 1; i <= 200; i++ {
		txn := w.Txn(ctx)
		txn.Set("k:a", i)
		txn.Set("k:b", i)
		txn.CompareAndSwap("k:c", 999, i) // k:c holds 0: fails
		if err := txn.Commit(); !errors.Is(err, ErrCompareFailed) {
			t.Fatalf("run %d: err = %v; want ErrCompareFailed", i, err)
		}
	}
	stop.Store(true)
	<-done
	if v := seen.Load(); v != 0 {
		t.Fatalf("a reader saw %d, a write of a failed transaction", v)
	}
	for _, k := range []string{"k:a", "k:b", "k:c"} {
		if it, _ := st.Get(ctx, k); it.Value != 0 {
			t.Fatalf("store %s = %d; want 0", k, it.Value)
		}
	}
}

// TestTxnConcurrentCAS: two nodes race a compare-and-swap on one key; in
// every round exactly one wins.
func TestTxnConcurrentCAS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestCluster[int](t, 2, clusterOpts{})
	c.register(t, "k:*", ModeEventualDistributed)
	_ = c.nodes[0].Set(ctx, "k:x", 0)
	for round := range 30 {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for n, w := range c.nodes {
			wg.Go(func() {
				txn := w.Txn(ctx)
				txn.CompareAndSwap("k:x", round, round+1)
				txn.Set(fmt.Sprintf("k:winner%d", round), n)
				switch err := txn.Commit(); {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, ErrCompareFailed):
					t.Errorf("node %d round %d: %v", n, round, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners; want exactly 1", round, wins.Load())
		}
	}
	if it, _ := c.store.Get(ctx, "k:x"); it.Value != 30 {
		t.Fatalf("k:x = %d after 30 rounds; want 30", it.Value)
	}
}

// TestTxnNoPartialRead: a transaction writes a and b together, over and
// over; readers on every node read a, then b, and must never find b older
// than a.
func TestTxnNoPartialRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestCluster[int](t, 3, clusterOpts{})
	c.register(t, "k:*", ModeEventualDistributed)
	for _, k := range []string{"k:a", "k:b"} {
		_ = c.nodes[0].Set(ctx, k, 0)
	}
	var writing atomic.Bool
	writing.Store(true)
	var wg sync.WaitGroup
	for n, w := range c.nodes {
		wg.Go(func() {
			for i := 0; i < 200_000 && writing.Load(); i++ {
				a, err1 := w.Get(ctx, "k:a")
				b, err2 := w.Get(ctx, "k:b")
				if err := errors.Join(err1, err2); err != nil {
					t.Errorf("node %d: %v", n, err)
					return
				}
				if b < a {
					t.Errorf("node %d read a=%d then b=%d: part of a transaction", n, a, b)
					return
				}
			}
		})
	}
	for i := 1; i <= 100; i++ {
		// A commit that fails with ErrQuorum (a starved node's member
		// lapsed for a moment) wrote nothing and is tried again.
		for try := 0; ; try++ {
			txn := c.nodes[i%3].Txn(ctx)
			txn.Set("k:a", i)
			txn.Set("k:b", i)
			err := txn.Commit()
			if err == nil {
				break
			}
			if !errors.Is(err, ErrQuorum) || try == 10 {
				writing.Store(false)
				wg.Wait()
				t.Fatal(err)
			}
		}
	}
	writing.Store(false)
	wg.Wait()
}

// notAtomic hides the memory store's Commit.
type notAtomic[T any] struct{ store.Store[T] }

func TestTxnNeedsAtomicStore(t *testing.T) {
	t.Parallel()
	w := newWarp[string](t, notAtomic[string]{memory.New[string](memory.Options{})})
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	txn := w.Txn(context.Background())
	txn.Set("k", "v")
	if err := txn.Commit(); !errors.Is(err, store.ErrNotAtomic) {
		t.Fatalf("err = %v; want store.ErrNotAtomic", err)
	}
	if _, err := w.Get(context.Background(), "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get = %v; want ErrNotFound (nothing written)", err)
	}
}

// BenchmarkTxn10 commits a 10-key transaction on one node with the
// in-memory store; BenchmarkTxn10/sets is the same ten writes as single
// Sets, in the same run.
func BenchmarkTxn10(b *testing.B) {
	ctx := context.Background()
	w, _ := New[[]byte](memory.New[[]byte](memory.Options{}))
	defer w.Close()
	_ = w.Register("k:*", ModeStrongLocal, time.Hour)
	keys := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprintf("k:%d", i)
	}
	val := make([]byte, 64)
	b.Run("txn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			txn := w.Txn(ctx)
			for _, k := range keys {
				txn.Set(k, val)
			}
			if err := txn.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sets", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, k := range keys {
				_ = w.Set(ctx, k, val)
			}
		}
	})
}

// TestTxnCASOnMaps: equal values holding maps compare equal (the encoding
// sorts map keys), so a compare-and-swap on them succeeds every time.
func TestTxnCASOnMaps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type doc struct{ Fields map[string]int }
	w := newWarp(t, memory.New[doc](memory.Options{}))
	_ = w.Register("d", ModeStrongLocal, time.Minute)
	cur := doc{Fields: map[string]int{}}
	for i := range 16 {
		cur.Fields[fmt.Sprintf("f%02d", i)] = i
	}
	_ = w.Set(ctx, "d", cur)
	for i := range 50 {
		next := doc{Fields: map[string]int{}}
		for k, v := range cur.Fields {
			next.Fields[k] = v
		}
		next.Fields["round"] = i
		txn := w.Txn(ctx)
		txn.CompareAndSwap("d", cur, next)
		if err := txn.Commit(); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		cur = next
	}
}

// TestTxnStrongQuorum: a transaction with a StrongDistributed key commits
// only once the fence holds on the peers; with a quorum above the live
// peers it fails with ErrQuorum and writes nothing.
func TestTxnStrongQuorum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestCluster[int](t, 3, clusterOpts{})
	c.register(t, "s:*", ModeStrongDistributed)
	txn := c.nodes[0].Txn(ctx)
	txn.Set("s:a", 1)
	txn.Set("s:b", 1)
	if err := txn.Commit(); err != nil {
		t.Fatalf("quorum 0 (every live peer): %v", err)
	}
	for _, w := range c.nodes {
		if a, _ := w.Get(ctx, "s:a"); a != 1 {
			t.Fatalf("after the commit a node reads s:a = %d; want 1", a)
		}
	}
	_ = c.nodes[0].SetQuorum("s:*", 3) // two peers only
	txn = c.nodes[0].Txn(ctx)
	txn.Set("s:a", 2)
	txn.Set("s:b", 2)
	if err := txn.Commit(); !errors.Is(err, ErrQuorum) {
		t.Fatalf("quorum 3 of 2 peers: err = %v; want ErrQuorum", err)
	}
	for _, k := range []string{"s:a", "s:b"} {
		if it, _ := c.store.Get(ctx, k); it.Value != 1 {
			t.Fatalf("store %s = %d after a failed strong commit; want 1", k, it.Value)
		}
	}
}

// heldCommit is a memory store whose Commit, once the store has applied
// it, signals committed and waits for hold: the transaction's keys are
// still fenced on this node while the test writes them.
type heldCommit struct {
	*memory.Store[string]
	committed, hold chan struct{}
}

func (s *heldCommit) Commit(ctx context.Context, ops []store.Op[string]) ([]merge.Version, error) {
	v, err := s.Store.Commit(ctx, ops)
	s.committed <- struct{}{}
	<-s.hold
	return v, err
}

// TestTxnCommitKeepsNewerWrite: a write of a transaction's key that lands
// after the transaction's store commit, while the key is still fenced on
// this node (a local Set, whose install the fence refuses, or another
// node's write, whose invalidation arrives through the bus), is newer than
// the transaction's. The commit must not install its own, older entry over
// it: the next Get returns the newer value.
func TestTxnCommitKeepsNewerWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(ctx context.Context, t *testing.T, w *Warp[string], st *heldCommit)
	}{
		{"local set", func(ctx context.Context, t *testing.T, w *Warp[string], _ *heldCommit) {
			if err := w.Set(ctx, "k", "later"); err != nil {
				t.Fatal(err)
			}
		}},
		{"peer invalidation", func(ctx context.Context, t *testing.T, w *Warp[string], st *heldCommit) {
			ver, err := st.Store.Set(ctx, "k", "later", store.Write{}) // another node's write...
			if err != nil {
				t.Fatal(err)
			}
			if err := (applier[string]{w}).Invalidate(ctx, "k", ver); err != nil { // ...and its event
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := &heldCommit{Store: memory.New[string](memory.Options{}), committed: make(chan struct{}), hold: make(chan struct{})}
			w := newWarp[string](t, st)
			if err := w.Register("k", ModeEventualDistributed, time.Hour); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				txn := w.Txn(ctx)
				txn.Set("k", "txn")
				done <- txn.Commit()
			}()
			<-st.committed
			tt.write(ctx, t, w, st)
			close(st.hold)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			it, _ := st.Store.Get(ctx, "k")
			if v, err := w.Get(ctx, "k"); err != nil || v != "later" {
				t.Fatalf("Get after the commit = %q, %v; want later (the store holds %q)", v, err, it.Value)
			}
		})
	}
}
