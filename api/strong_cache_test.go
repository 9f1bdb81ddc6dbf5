package api

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// TestStrongNotCachedAfterRepair: after a repair flush, a StrongDistributed
// key is read from the store but not cached until the grace period ends (a
// strong write that counted this node as lapsed may still be in flight);
// other keys are cached at once. Negative entries of strong keys follow the
// same rule and carry the strong flag.
func TestStrongNotCachedAfterRepair(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New[string](memory.Options{})
	w := newWarp[string](t, st)
	w.graceTTL = time.Hour
	_ = w.Register("s:*", ModeStrongDistributed, time.Hour, WithNegativeTTL(time.Hour))
	_ = w.Register("e:*", ModeEventualDistributed, time.Hour)
	for _, k := range []string{"s:1", "e:1"} {
		_, _ = st.Set(ctx, k, "v", store.Write{})
	}
	if err := (applier[string]{w}).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cached := func(k string) bool { _, ok := w.router.Shard(w.router.Hash(k)).Load(k); return ok }
	for _, k := range []string{"s:1", "e:1", "s:missing"} {
		_, _ = w.Get(ctx, k)
	}
	if cached("s:1") || cached("s:missing") {
		t.Fatal("a strong key (or its negative entry) was cached during the grace period")
	}
	if !cached("e:1") {
		t.Fatal("an eventual key was not cached after the repair")
	}
	w.strongGrace.Store(0) // the grace period is over
	_, _ = w.Get(ctx, "s:1")
	if _, err := w.Get(ctx, "s:missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v; want ErrNotFound", err)
	}
	if !cached("s:1") {
		t.Fatal("a strong key is not cached once the grace period is over")
	}
	b, ok := w.router.Shard(w.router.Hash("s:missing")).Load("s:missing")
	if !ok {
		t.Fatal("no negative entry for a missing strong key")
	}
	if hdr, _, _ := shard.ParseHeader(b); hdr.Flags&shard.FlagStrong == 0 || hdr.Flags&shard.FlagNegative == 0 {
		t.Fatalf("negative strong entry flags %b; want strong and negative", hdr.Flags)
	}
}

// hungStore's Get and Set never return before their context ends.
type hungStore[T any] struct{ store.Store[T] }

func (s hungStore[T]) Get(ctx context.Context, _ string) (store.Item[T], error) {
	<-ctx.Done()
	return store.Item[T]{}, ctx.Err()
}

func (s hungStore[T]) Set(ctx context.Context, key string, v T, wr store.Write) (merge.Version, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// hungWarp returns an instance without a bus over a hungStore, with pattern
// registered in mode; the caller closes it.
func hungWarp(t *testing.T, pattern string, mode Mode) *Warp[string] {
	t.Helper()
	w, err := New[string](hungStore[string]{memory.New[string](memory.Options{})},
		WithNodeConfig[string](actors.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Register(pattern, mode, time.Hour); err != nil {
		_ = w.Close()
		t.Fatal(err)
	}
	return w
}

// TestStrongWriteBoundedByGrace: a strong write's store write is cut off
// when the grace period would end (a peer that missed the fence refuses
// to cache the key only that long), so a hung store cannot let an old
// copy back in: Set fails with the context's error, at the grace period.
func TestStrongWriteBoundedByGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		w := hungWarp(t, "s:*", ModeStrongDistributed)
		defer w.Close()
		start := time.Now()
		var err error
		done := make(chan error, 1)
		go func() { done <- w.Set(ctx, "s:1", "v") }()
		select {
		case err = <-done:
		case <-time.After(2 * w.graceTTL):
			t.Fatalf("Set on a hung store still waits after twice the grace period %v", w.graceTTL)
		}
		took := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Set on a hung store = %v; want DeadlineExceeded", err)
		}
		if took > w.graceTTL || took < w.graceTTL-time.Second {
			t.Fatalf("Set returned after %v; want at the grace period %v", took, w.graceTTL)
		}
	})
}

// gatedScan is a spying store whose Scan, once it has read the items,
// signals scanned and waits for hold before handing them over.
type gatedScan struct {
	*spyStore[string]
	scanned, hold chan struct{}
}

func (s *gatedScan) Scan(ctx context.Context, prefix string, fn func(string, store.Item[string]) error) error {
	var keys []string
	var items []store.Item[string]
	err := s.spyStore.Scan(ctx, prefix, func(k string, it store.Item[string]) error {
		keys, items = append(keys, k), append(items, it)
		return nil
	})
	s.scanned <- struct{}{}
	<-s.hold
	for i := range keys {
		if err := fn(keys[i], items[i]); err != nil {
			return err
		}
	}
	return err
}

// TestStrongLoadBegunInGraceIsNotCached: a load of a StrongDistributed key
// (a Get's, or Warmup's scan) that reads the store inside the grace period
// after a repair flush may read the value a write whose fence this node
// missed is about to replace. If it ends after the grace period, it must
// still not be cached: the next Get loads the new value.
func TestStrongLoadBegunInGraceIsNotCached(t *testing.T) {
	tests := []struct {
		name string
		load func(ctx context.Context, w *Warp[string], st *gatedScan) (read chan struct{}, release func())
	}{
		{"get", func(ctx context.Context, w *Warp[string], st *gatedScan) (chan struct{}, func()) {
			st.loaded, st.spyStore.hold = make(chan struct{}), make(chan struct{})
			hold := st.spyStore.hold
			go func() { _, _ = w.Get(ctx, "s:1") }()
			return st.loaded, func() { close(hold) }
		}},
		{"warmup", func(ctx context.Context, w *Warp[string], st *gatedScan) (chan struct{}, func()) {
			go func() { _ = w.Warmup(ctx) }()
			return st.scanned, func() { close(st.hold) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
				st := &gatedScan{spyStore: spy, scanned: make(chan struct{}), hold: make(chan struct{})}
				w := newWarp[string](t, st, WithNodeConfig[string](actors.Config{}))
				w.graceTTL = time.Second
				if err := w.Register("s:*", ModeStrongDistributed, time.Hour); err != nil {
					t.Fatal(err)
				}
				if _, err := spy.Store.Set(ctx, "s:1", "old", store.Write{}); err != nil {
					t.Fatal(err)
				}
				if err := (applier[string]{w}).Flush(ctx); err != nil {
					t.Fatal(err)
				}
				read, release := tt.load(ctx, w, st)
				<-read // the load read "old" inside the grace period
				spy.loaded = nil
				// The write whose fence this node missed lands.
				if _, err := spy.Store.Set(ctx, "s:1", "new", store.Write{}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * w.graceTTL) // the grace period ends
				release()
				synctest.Wait() // the load has tried to fill
				spy.hold = nil
				if _, cached := w.router.Shard(w.router.Hash("s:1")).Load("s:1"); cached {
					t.Error("a strong load begun inside the grace period was cached after it")
				}
				if v, err := w.Get(ctx, "s:1"); err != nil || v != "new" {
					t.Fatalf("Get after the write = %q, %v; want new", v, err)
				}
			})
		})
	}
}

// TestStrongMissEndsWithItsCaller: a StrongDistributed miss, which shares
// its load with no other caller, reads the store under its caller's
// context: a caller that gives up while the store hangs gets its
// context's error at its deadline, not at the load's 30 s bound. Every
// mode's miss does (a shared load goes on for the callers still waiting).
func TestStrongMissEndsWithItsCaller(t *testing.T) {
	for _, mode := range []Mode{ModeStrongDistributed, ModeEventualDistributed, ModeStrongLocal} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := hungWarp(t, "k:*", mode)
				defer w.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				start := time.Now()
				_, err := w.Get(ctx, "k:1")
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Get on a hung store under a 100 ms deadline = %v; want DeadlineExceeded", err)
				}
				if took := time.Since(start); took != 100*time.Millisecond {
					t.Fatalf("Get returned after %v; want at its caller's deadline, 100ms", took)
				}
			})
		})
	}
}

// TestCloseEndsSharedLoads: a load that misses share, run on a goroutine
// of its own for callers whose context can end, outlives the callers that
// give up, but not the instance: Close ends it at once on a hung store,
// its waiters get ErrClosed, and Close returns with no goroutine of it
// left (the bubble would report one). (A load that runs on its caller's
// goroutine, for a context that cannot end, is the caller's: it finishes,
// TestCallsInFlightFinishAcrossClose.)
func TestCloseEndsSharedLoads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := hungWarp(t, "k:*", ModeEventualDistributed)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errs := make(chan error, 2)
		for range 2 {
			go func() { _, err := w.Get(ctx, "k:1"); errs <- err }()
		}
		synctest.Wait() // both wait on the one load, which waits on the store
		start := time.Now()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Fatalf("Close took %v with a load on a hung store; want at once", took)
		}
		for range 2 {
			if err := <-errs; !errors.Is(err, ErrClosed) {
				t.Fatalf("a caller of the load Close ended: %v; want ErrClosed", err)
			}
		}
	})
}

// countingHung is a hungStore that counts its Gets in flight and the most
// at once.
type countingHung struct {
	hungStore[string]
	mu            sync.Mutex
	inFlight, top int
}

func (s *countingHung) Get(ctx context.Context, key string) (store.Item[string], error) {
	s.mu.Lock()
	s.inFlight++
	s.top = max(s.top, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	return s.hungStore.Get(ctx, key)
}

// TestLoadsPerKeyBounded: misses share a load only within one stripe
// generation, so a key invalidated between misses while the store hangs
// starts a load each time; at most maxLoadsPerKey of them run at once,
// and the misses past that wait for one to end or for their context. (There
// used to be one load, a goroutine and a store call, per invalidation, each
// for up to 30 s.)
func TestLoadsPerKeyBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &countingHung{hungStore: hungStore[string]{memory.New[string](memory.Options{})}}
		w, err := New[string](st, WithNodeConfig[string](actors.Config{}))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.Register("k:*", ModeEventualDistributed, time.Hour); err != nil {
			t.Fatal(err)
		}
		const misses = 5 * maxLoadsPerKey
		for range misses {
			if err := w.Invalidate(context.Background(), "k:1"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			if _, err := w.Get(ctx, "k:1"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Get on a hung store = %v; want DeadlineExceeded", err)
			}
			cancel()
		}
		synctest.Wait()
		st.mu.Lock()
		top, now := st.top, st.inFlight
		st.mu.Unlock()
		if top > maxLoadsPerKey || now > maxLoadsPerKey {
			t.Fatalf("%d store loads of one key at most, %d now, after %d misses each after an invalidation; want at most %d", top, now, misses, maxLoadsPerKey)
		}
		if top < maxLoadsPerKey {
			t.Fatalf("%d store loads at most; want %d: a miss after an invalidation starts a load of its own", top, maxLoadsPerKey)
		}
	})
}
