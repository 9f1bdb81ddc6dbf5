package api

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// versionHook is a memory store whose first Version call runs hook first:
// another node's write landing between a merge's read and its read of the
// version.
type versionHook struct {
	*memory.Store[int]
	once sync.Once
	hook func()
}

func (s *versionHook) Version(ctx context.Context, key string) (merge.Version, error) {
	s.once.Do(s.hook)
	return s.Store.Version(ctx, key)
}

// TestMergeOfAbsentKeyRacingItsCreation: a merged Set finds its key absent,
// and another node creates the key before the Set reads the version to
// compare against. The Set must merge into the created value, not write
// the merge of nothing over it (a lost update TestClusterCounter caught
// once under load, 9,998 of 10,000 increments).
func TestMergeOfAbsentKeyRacingItsCreation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &versionHook{Store: memory.New[int](memory.Options{})}
	st.hook = func() {
		if _, err := st.Store.Set(ctx, "n:1", 40, store.Write{}); err != nil {
			t.Error(err)
		}
	}
	w, err := New[int](st)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.engine.Register("n:*", merge.Sum[int]); err != nil {
		t.Fatal(err)
	}
	if err := w.Register("n:*", ModeStrongLocal, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := w.Set(ctx, "n:1", 2); err != nil {
		t.Fatal(err)
	}
	it, err := st.Store.Get(ctx, "n:1")
	if err != nil || it.Value != 42 {
		t.Fatalf("stored %d, %v; want 42: the other write (40) merged with this one (2)", it.Value, err)
	}
}

// A merged Set of a key never written reads the store twice, the value and
// the version (0: nothing to read again); of a deleted key three times, the
// version of its tombstone calling for a second read of the value.
func TestMergeOfAbsentKeyReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &versionCounting[int]{Store: memory.New[int](memory.Options{}), calls: map[string]int{}}
	w := newWarp[int](t, st)
	if err := w.engine.Register("n:*", merge.Sum[int]); err != nil {
		t.Fatal(err)
	}
	if err := w.Register("n:*", ModeStrongLocal, time.Hour); err != nil {
		t.Fatal(err)
	}
	reads := func() (int, int) { st.mu.Lock(); defer st.mu.Unlock(); return st.gets, st.total }
	if err := w.Set(ctx, "n:1", 2); err != nil {
		t.Fatal(err)
	}
	if g, v := reads(); g != 1 || v != 1 {
		t.Errorf("merge of a key never written: %d Gets and %d Version reads; want 1 and 1", g, v)
	}
	if _, err := st.Store.Delete(ctx, "n:1", store.Write{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Set(ctx, "n:1", 3); err != nil {
		t.Fatal(err)
	}
	if g, v := reads(); g != 3 || v != 2 {
		t.Errorf("after a merge of a deleted key: %d Gets and %d Version reads in all; want 3 and 2", g, v)
	}
	if it, err := st.Store.Get(ctx, "n:1"); err != nil || it.Value != 3 {
		t.Fatalf("stored %d, %v; want 3 (the deleted 2 does not count)", it.Value, err)
	}
}

// heldSet is a memory store whose first Set waits for hold after
// signalling entered: a merged Set stuck on a slow store, holding its
// key's lock.
type heldSet struct {
	*memory.Store[int]
	entered, hold chan struct{}
	first         atomic.Bool
}

func (s *heldSet) Set(ctx context.Context, k string, v int, wr store.Write) (merge.Version, error) {
	if s.first.CompareAndSwap(false, true) {
		s.entered <- struct{}{}
		<-s.hold
	}
	return s.Store.Set(ctx, k, v, wr)
}

// heldCounter returns an instance with the StrongLocal merged (summed)
// counter "c", whose first merged Set holds the key lock, stuck on the
// store until release is called; holder receives that Set's result.
func heldCounter(t *testing.T, opts ...Option[int]) (w *Warp[int], holder chan error, release func()) {
	t.Helper()
	eng := merge.NewEngine[int]()
	if err := eng.Register("c", merge.Sum[int]); err != nil {
		t.Fatal(err)
	}
	st := &heldSet{Store: memory.New[int](memory.Options{}), entered: make(chan struct{}), hold: make(chan struct{})}
	w = newWarp[int](t, st, append(opts, WithMergeEngine(eng))...)
	if err := w.Register("c", ModeStrongLocal, time.Minute); err != nil {
		t.Fatal(err)
	}
	holder = make(chan error, 1)
	go func() { holder <- w.Set(context.Background(), "c", 1) }()
	<-st.entered // the holder has the lock and waits on the store
	return w, holder, sync.OnceFunc(func() { close(st.hold) })
}

// TestMergedSetLockWaitHonoursContext: a merged Set waiting for its key's
// lock, held by another merged Set stuck on the store, returns when its
// context ends, with an error wrapping the context's. The lock, granted to
// it after it gave up, is released: a later merged Set gets it, and
// only the two Sets that returned nil are counted.
func TestMergedSetLockWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, holder, release := heldCounter(t, WithNodeConfig[int](actors.Config{}))
		// set runs a merged Set of d with ctx, failing the test if it is
		// still blocked after a second (fake time). On failure the holder is
		// let go: Close then fails the blocked Set's lock wait.
		set := func(ctx context.Context, d int, what string) error {
			done := make(chan error, 1)
			go func() { done <- w.Set(ctx, "c", d) }()
			select {
			case err := <-done:
				return err
			case <-time.After(time.Second):
				release()
				t.Fatalf("%s still blocked on the key lock after 1s", what)
				return nil
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := set(ctx, 10, "merged Set with a 50ms deadline"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("merged Set waiting for the lock = %v; want DeadlineExceeded", err)
		}
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Fatalf("merged Set returned after %v; want at its 50ms deadline", took)
		}
		release()
		if err := <-holder; err != nil {
			t.Fatal(err)
		}
		if err := set(context.Background(), 100, "merged Set after the lock's release"); err != nil {
			t.Fatal(err)
		}
		if v, err := w.Get(context.Background(), "c"); err != nil || v != 101 {
			t.Fatalf("counter = %d, %v; want 101", v, err)
		}
	})
}

// TestUncontendedMergedSetAllocatesNoWaiter: a merged Set whose key lock is
// free is granted while it sends its request (the shard runs on its
// goroutine), so a cancellable context costs it no waiting goroutine: it
// allocates no more than with a context that cannot end.
func TestUncontendedMergedSetAllocatesNoWaiter(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts include the race detector's; make allocs runs this without it")
	}
	eng := merge.NewEngine[int]()
	if err := eng.Register("c", merge.Sum[int]); err != nil {
		t.Fatal(err)
	}
	w := newWarp[int](t, memory.New[int](memory.Options{}), WithMergeEngine(eng))
	if err := w.Register("c", ModeStrongLocal, time.Minute); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	set := func(ctx context.Context) func() {
		return func() {
			if err := w.Set(ctx, "c", 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	background := testing.AllocsPerRun(200, set(context.Background()))
	cancellable := testing.AllocsPerRun(200, set(ctx))
	if cancellable > background {
		t.Fatalf("a merged Set allocates %.1f objects with a cancellable context, %.1f without; want no more", cancellable, background)
	}
}

// TestAbandonedLockWaitsLeaveNothing: merged Sets that give up waiting for
// a key lock held by a merged Set stuck on the store leave nothing behind:
// no goroutine each (there used to be one per caller until the lock was
// granted, so a stuck holder let them pile up without bound), and no
// place in the lock's queue: once the holder ends, the next merged Set
// gets the lock at once. Not parallel: it counts the process's goroutines.
func TestAbandonedLockWaitsLeaveNothing(t *testing.T) {
	w, holder, release := heldCounter(t)
	defer release()
	before := runtime.NumGoroutine()
	const waiters = 500
	for range waiters {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		err := w.Set(ctx, "c", 10)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("merged Set behind a held lock = %v; want DeadlineExceeded", err)
		}
	}
	if grown := runtime.NumGoroutine() - before; grown > waiters/10 {
		t.Fatalf("%d more goroutines after %d merged Sets gave up waiting for the lock; want none left by them", grown, waiters)
	}
	release()
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Set(context.Background(), "c", 100) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a merged Set still waits for the lock 10 s after its holder ended")
	}
	if v, err := w.Get(context.Background(), "c"); err != nil || v != 101 {
		t.Fatalf("counter = %d, %v; want 101 (the Sets that gave up wrote nothing)", v, err)
	}
}
