package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api/codec"
	"github.com/warpcache/warp/internal/allocs"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// spyStore wraps a store to count loads and to hold them at a barrier.
type spyStore[T any] struct {
	store.Store[T]
	gets   atomic.Int64
	hold   chan struct{} // if non-nil, Get waits on it after reading
	loaded chan struct{} // if non-nil, Get signals it after reading
	panics bool
}

func (s *spyStore[T]) Get(ctx context.Context, key string) (store.Item[T], error) {
	s.gets.Add(1)
	if s.panics {
		panic("store exploded")
	}
	it, err := s.Store.Get(ctx, key)
	if s.loaded != nil {
		s.loaded <- struct{}{}
	}
	if s.hold != nil {
		<-s.hold
	}
	return it, err
}

func newWarp[T any](t testing.TB, s store.Store[T], opts ...Option[T]) *Warp[T] {
	t.Helper()
	w, err := New(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func TestSetGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWarp(t, memory.New[string](memory.Options{}))
	if err := w.Register("greeting", ModeStrongLocal, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Get(ctx, "greeting"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Set: err = %v; want ErrNotFound", err)
	}
	for _, v := range []string{"hello", "hello again"} {
		if err := w.Set(ctx, "greeting", v); err != nil {
			t.Fatal(err)
		}
		for range 3 { // slow path, then promoted hot path
			if got, err := w.Get(ctx, "greeting"); err != nil || got != v {
				t.Fatalf("Get = %q, %v; want %q", got, err, v)
			}
		}
	}
}

// A write the store versioned past this node's clock (the store's own
// count ran ahead: another writer, a faster clock) moves the clock past
// that version, so this node's next write is newer still; unless the
// version is further ahead than the node accepts (MaxClockAhead), which
// then moves nothing. The key's own next version follows the store's
// either way.
func TestSetObservesAStoreVersionAheadOfTheClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		ahead    time.Duration
		observed bool
	}{{"5 s ahead", 5 * time.Second, true}, {"an hour ahead", time.Hour, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := memory.New[string](memory.Options{})
			ahead := merge.MakeVersion(time.Now().Add(tc.ahead))
			if _, err := st.Set(ctx, "k", "another writer's", store.Write{Min: ahead}); err != nil {
				t.Fatal(err)
			}
			w := newWarp(t, st)
			if err := w.Register("*", ModeStrongLocal, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := w.Set(ctx, "k", "mine"); err != nil {
				t.Fatal(err)
			}
			k, err := st.Get(ctx, "k")
			if err != nil || k.Version <= ahead {
				t.Fatalf("store holds k at %v, %v; want a version above %v", k.Version, err, ahead)
			}
			if err := w.Set(ctx, "j", "later"); err != nil {
				t.Fatal(err)
			}
			j, err := st.Get(ctx, "j")
			if err != nil || (j.Version > k.Version) != tc.observed {
				t.Fatalf("the next write got version %v (%v), k's is %v; want it above k's: %v", j.Version, err, k.Version, tc.observed)
			}
		})
	}
}

type user struct {
	Name string
	Age  int
}

func TestStructValuesAndPatterns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New[user](memory.Options{})
	w := newWarp(t, st)
	if err := w.Register("user:*", ModeStrongLocal, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := w.Register("user:admin", ModeEventualDistributed, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := w.Register("user:*", ModeStrongDistributed, time.Minute); !errors.Is(err, ErrConflict) {
		t.Fatalf("re-register with another mode: err = %v; want ErrConflict", err)
	}
	if err := w.Set(ctx, "user:1", user{"ada", 36}); err != nil {
		t.Fatal(err)
	}
	got, err := w.Get(ctx, "user:1")
	if err != nil || got != (user{"ada", 36}) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	r, _, _ := w.lookup("user:admin")
	if r.mode != ModeEventualDistributed {
		t.Fatalf("exact key resolved to %v; want the exact registration", r.mode)
	}
	if _, err := w.Get(ctx, "order:1"); !errors.Is(err, ErrUnregistered) {
		t.Fatalf("Get of unregistered key: err = %v; want ErrUnregistered", err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New[[]byte](memory.Options{})
	w := newWarp(t, st, WithMaxValueSize[[]byte](16))
	if err := w.Register("k:*", ModeStrongLocal, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := w.Set(ctx, "k:1", []byte("old")); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	long := strings.Repeat("k", MaxKeyLen+1)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"empty key", w.Set(ctx, "", []byte("x")), ErrInvalidKey},
		{"long key", w.Set(ctx, long, []byte("x")), ErrInvalidKey},
		{"long key get", func() error { _, err := w.Get(ctx, long); return err }(), ErrInvalidKey},
		{"unregistered", w.Set(ctx, "other", []byte("x")), ErrUnregistered},
		{"ttl zero", w.Register("a", ModeStrongLocal, 0), ErrInvalidTTL},
		{"ttl negative", w.Register("a", ModeStrongLocal, -time.Second), ErrInvalidTTL},
		{"negative ttl option", w.Register("a", ModeStrongLocal, time.Second, WithNegativeTTL(0)), ErrInvalidTTL},
		{"bad pattern", w.Register("a*b", ModeStrongLocal, time.Second), ErrPattern},
		{"bad mode", w.Register("a", Mode(9), time.Second), ErrConfig},
		{"too large", w.Set(ctx, "k:1", make([]byte, 17)), ErrTooLarge},
		{"cancelled set", w.Set(cancelled, "k:1", []byte("new")), context.Canceled},
		{"cancelled get", func() error { _, err := w.Get(cancelled, "k:1"); return err }(), context.Canceled},
		{"unregister unknown", w.Unregister("nope"), ErrUnregistered},
		{"quorum on local", w.SetQuorum("k:*", 1), ErrConflict},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v; want %v", tt.name, tt.err, tt.want)
		}
	}
	// The failed writes left store and cache as they were.
	if it, err := st.Get(ctx, "k:1"); err != nil || string(it.Value) != "old" {
		t.Fatalf("store after failed writes = %q, %v; want old", it.Value, err)
	}
	if got, err := w.Get(ctx, "k:1"); err != nil || string(got) != "old" {
		t.Fatalf("cache after failed writes = %q, %v; want old", got, err)
	}
	_ = w.Close()
	_ = w.Close()
	for name, err := range map[string]error{
		"get":        func() error { _, err := w.Get(ctx, "k:1"); return err }(),
		"set":        w.Set(ctx, "k:1", []byte("x")),
		"invalidate": w.Invalidate(ctx, "k:1"),
		"register":   w.Register("b", ModeStrongLocal, time.Second),
		"unregister": w.Unregister("k:*"),
		"set quorum": w.SetQuorum("k:*", 1),
		"warmup":     w.Warmup(ctx),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v; want ErrClosed", name, err)
		}
	}
}

// TestKeyLengthLimit: a key of exactly MaxKeyLen bytes is registered,
// written and read; one byte more is ErrInvalidKey for Register, Set and
// Get alike.
func TestKeyLengthLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWarp(t, memory.New[string](memory.Options{}))
	longest := strings.Repeat("k", MaxKeyLen)
	if err := w.Register(longest, ModeStrongLocal, time.Minute); err != nil {
		t.Fatalf("Register of a %d-byte key: %v", MaxKeyLen, err)
	}
	if err := w.Set(ctx, longest, "v"); err != nil {
		t.Fatalf("Set of a %d-byte key: %v", MaxKeyLen, err)
	}
	if v, err := w.Get(ctx, longest); err != nil || v != "v" {
		t.Fatalf("Get of a %d-byte key = %q, %v; want v", MaxKeyLen, v, err)
	}
	over := longest + "k"
	_ = w.Register("k*", ModeStrongLocal, time.Minute) // covers over: only its length is wrong
	for name, err := range map[string]error{
		"register": w.Register(over, ModeStrongLocal, time.Minute),
		"set":      w.Set(ctx, over, "v"),
		"get":      func() error { _, err := w.Get(ctx, over); return err }(),
	} {
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s of a %d-byte key: err = %v; want ErrInvalidKey", name, len(over), err)
		}
	}
}

// gatedStore holds every load and every write at a gate: it signals in,
// then waits until out is closed.
type gatedStore[T any] struct {
	store.Store[T]
	getIn, setIn   chan struct{}
	getOut, setOut chan struct{}
}

func (s *gatedStore[T]) Get(ctx context.Context, key string) (store.Item[T], error) {
	s.getIn <- struct{}{}
	<-s.getOut
	return s.Store.Get(ctx, key)
}

func (s *gatedStore[T]) Set(ctx context.Context, key string, v T, wr store.Write) (merge.Version, error) {
	s.setIn <- struct{}{}
	<-s.setOut
	return s.Store.Set(ctx, key, v, wr)
}

// TestCallsInFlightFinishAcrossClose: a Get and a Set that were in the
// store when Close returned still finish: the Get returns the value, the
// Set succeeds with the store written. Later calls fail with ErrClosed.
func TestCallsInFlightFinishAcrossClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := memory.New[string](memory.Options{})
	if _, err := mem.Set(ctx, "k:read", "v", store.Write{}); err != nil {
		t.Fatal(err)
	}
	st := &gatedStore[string]{Store: mem,
		getIn: make(chan struct{}, 1), setIn: make(chan struct{}, 1),
		getOut: make(chan struct{}), setOut: make(chan struct{})}
	w := newWarp[string](t, st)
	_ = w.Register("k:*", ModeStrongLocal, time.Minute)
	type result struct {
		v   string
		err error
	}
	got, set := make(chan result, 1), make(chan error, 1)
	go func() { v, err := w.Get(ctx, "k:read"); got <- result{v, err} }()
	go func() { set <- w.Set(ctx, "k:write", "new") }()
	<-st.getIn
	<-st.setIn
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	close(st.getOut)
	close(st.setOut)
	if r := <-got; r.err != nil || r.v != "v" {
		t.Fatalf("Get in flight across Close = %q, %v; want v", r.v, r.err)
	}
	if err := <-set; err != nil {
		t.Fatalf("Set in flight across Close = %v; want nil", err)
	}
	if it, err := mem.Get(ctx, "k:write"); err != nil || it.Value != "new" {
		t.Fatalf("store after the Set in flight = %q, %v; want new", it.Value, err)
	}
	if _, err := w.Get(ctx, "k:read"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: err = %v; want ErrClosed", err)
	}
}

func TestUnregisterStopsServing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWarp(t, memory.New[string](memory.Options{}))
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	_ = w.Set(ctx, "k", "v")
	_, _ = w.Get(ctx, "k")
	if err := w.Unregister("k"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Get(ctx, "k"); !errors.Is(err, ErrUnregistered) {
		t.Fatalf("Get after Unregister: err = %v; want ErrUnregistered", err)
	}
}

// spyOnK returns an instance over a spying memory store that holds "k" =
// v, with "k" registered StrongLocal and not yet cached.
func spyOnK(t *testing.T, v string) (*Warp[string], *spyStore[string]) {
	t.Helper()
	spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
	w := newWarp[string](t, spy)
	if err := w.Register("k", ModeStrongLocal, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := spy.Store.Set(context.Background(), "k", v, store.Write{}); err != nil {
		t.Fatal(err)
	}
	return w, spy
}

// TestNoStaleFill forces a load to race a write: the load reads the old
// value, the write lands, then the load tries to install. The old value
// must not be installed.
func TestNoStaleFill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, spy := spyOnK(t, "old")
	spy.loaded, spy.hold = make(chan struct{}), make(chan struct{})
	got := make(chan string)
	go func() { v, _ := w.Get(ctx, "k"); got <- v }()
	<-spy.loaded // the load has read "old"
	spy.loaded = nil
	if err := w.Set(ctx, "k", "new"); err != nil {
		t.Fatal(err)
	}
	close(spy.hold) // now the load installs
	if v := <-got; v != "old" {
		t.Fatalf("racing Get = %q; want old (it read before the write)", v)
	}
	for range 3 {
		if v, err := w.Get(ctx, "k"); err != nil || v != "new" {
			t.Fatalf("Get after the race = %q, %v; want new", v, err)
		}
	}
	if st := w.Stats(); st.StaleFills != 1 {
		t.Fatalf("StaleFills = %d; want 1", st.StaleFills)
	}
}

func TestInvalidateRacingLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, spy := spyOnK(t, "old")
	spy.loaded, spy.hold = make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() { _, _ = w.Get(ctx, "k"); close(done) }()
	<-spy.loaded
	spy.loaded = nil
	_, _ = spy.Store.Set(ctx, "k", "changed outside warp", store.Write{})
	if err := w.Invalidate(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	close(spy.hold)
	<-done
	spy.hold = nil
	if v, _ := w.Get(ctx, "k"); v != "changed outside warp" {
		t.Fatalf("Get = %q; want the value written before Invalidate", v)
	}
}

func TestMissesAreCoalesced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, spy := spyOnK(t, "v")
	spy.loaded, spy.hold = make(chan struct{}, 1), make(chan struct{})
	const n = 50
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		wg.Go(func() {
			started.Done()
			if v, err := w.Get(ctx, "k"); err != nil || v != "v" {
				t.Errorf("Get = %q, %v", v, err)
			}
		})
	}
	started.Wait()
	<-spy.loaded
	// Every caller is either waiting on the one load or will hit the cache.
	close(spy.hold)
	wg.Wait()
	if g := spy.gets.Load(); g != 1 {
		t.Fatalf("store loads = %d; want 1", g)
	}
}

// TestLateMissFindsTheFill: a caller that missed the cache just before
// another caller's load filled it, and reaches the shared load only after
// that load ended, is served the fill instead of loading again (the
// interleaving forced by calling miss after the fill).
func TestLateMissFindsTheFill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, spy := spyOnK(t, "v")
	if v, err := w.Get(ctx, "k"); err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	h := w.router.Hash("k")
	for _, c := range []context.Context{ctx, t.Context()} { // Do and DoChan
		if v, err := w.miss(c, "k", h, w.router.Shard(h)); err != nil || v != "v" {
			t.Fatalf("miss = %q, %v", v, err)
		}
	}
	if g := spy.gets.Load(); g != 1 {
		t.Fatalf("store loads = %d; want 1 (the late misses should find the fill)", g)
	}
}

// TestSetReusesNoLiveBuffer: a Set's entry buffer and Install message are
// recycled once the shard answered; after many concurrent Sets of distinct
// values, every cached key holds its own value (a buffer reused too early
// would leave another write's bytes). A write whose stripe moved under it
// drops the key instead of installing it, so not every key is cached.
func TestSetReusesNoLiveBuffer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New[string](memory.Options{})
	w := newWarp[string](t, st)
	_ = w.Register("k:*", ModeStrongLocal, time.Minute)
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				k := fmt.Sprintf("k:%d:%d", g, i)
				if err := w.Set(ctx, k, strings.Repeat(k, 1+i%7)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	cached := 0
	for g := range workers {
		for i := range each {
			k := fmt.Sprintf("k:%d:%d", g, i)
			h := w.router.Hash(k)
			b, ok := w.router.Shard(h).Load(k)
			if !ok {
				continue
			}
			cached++
			_, val, err := shard.ParseHeader(b)
			if want := strings.Repeat(k, 1+i%7); err != nil || string(val) != want {
				t.Fatalf("%s cached as %q, %v; want %q", k, val, err, want)
			}
		}
	}
	if cached < workers*each/2 {
		t.Fatalf("only %d of %d keys cached; the test checked too little", cached, workers*each)
	}
}

// TestSetAllocatesNothing: a StrongLocal Set of a []byte value over the
// memory store reuses its entry buffer, Install message and reply slot,
// and bigcache below its bound allocates nothing either (see
// TestSetAtTheBoundAllocatesOnlyInBigcache for the writes beyond it).
// `make test` runs it without the race detector (`make allocs`), whose
// own allocations, and sync.Pool's random drops under it, it would count.
func TestSetAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts include the race detector's; make allocs runs this without it")
	}
	// 8,000 entries of about 110 bytes fill at most 0.85 MiB of a bigcache
	// shard's queue of 1 MiB (the default bound over 256 of them), even if
	// the four keys share one.
	got := setAllocs(t, 0, 0, 8_000)
	for pkg, n := range got {
		if n >= maxStrayAllocs {
			t.Errorf("%s allocates %.4f objects per Set; want none", pkg, n)
		}
	}
}

// TestSetAtTheBoundAllocatesOnlyInBigcache: once a cache slice's queue is
// full, which under overwrites it is after a bound's worth of writes however
// small the live data, bigcache allocates on a write that finds it full
// (its "full queue" error value, before it evicts the oldest entry).
// Warp's own code still allocates nothing.
func TestSetAtTheBoundAllocatesOnlyInBigcache(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts include the race detector's; make allocs runs this without it")
	}
	got := setAllocs(t, 8<<20, 200_000, 20_000) // 22 MB written first: beyond the bound
	bigcache := 0.0
	for pkg, n := range got {
		if strings.HasPrefix(pkg, "github.com/allegro/bigcache/") {
			bigcache += n
		} else if n >= maxStrayAllocs {
			t.Errorf("%s allocates %.4f objects per Set; want only bigcache's", pkg, n)
		}
	}
	if bigcache < 0.5 {
		t.Fatalf("bigcache allocated %.4f objects per Set: the queues were not full and the test checked too little (%v)", bigcache, got)
	}
	t.Logf("allocations per Set at the bound, by package: %v", got)
}

// TestHotHitAllocatesNothing: a read served by the hot tier (docs/cache.md)
// allocates nothing, a []byte value and a struct value alike; a read
// served by bigcache allocates only in bigcache (its copy-out, as raw
// bigcache's Get does), which the test checks as well, so that it cannot
// pass by reading from somewhere else.
func TestHotHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts include the race detector's; make allocs runs this without it")
	}
	ctx := context.Background()
	opts := func(hot int) []Option[[]byte] {
		return []Option[[]byte]{WithNodeConfig[[]byte](actors.Config{SweepInterval: time.Hour}), WithHotSlots[[]byte](hot)}
	}
	for _, hot := range []int{4096, -1} {
		w := newWarp[[]byte](t, memory.New[[]byte](memory.Options{}), opts(hot)...)
		_ = w.Register("k:*", ModeStrongLocal, time.Minute)
		if err := w.Set(ctx, "k:1", make([]byte, 64)); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the first read promotes the key when the tier is on
			if _, err := w.Get(ctx, "k:1"); err != nil {
				t.Fatal(err)
			}
		}
		h := w.router.Hash("k:1")
		if inHot := w.router.Shard(h).Hot("k:1", h) != nil; inHot != (hot > 0) {
			t.Fatalf("hot slots %d: key in the hot tier = %v", hot, inHot)
		}
		got := allocs.ByPackage(10_000, func() { _, _ = w.Get(ctx, "k:1") })
		total, inBigcache := 0.0, 0.0
		for pkg, n := range got {
			total += n
			if strings.HasPrefix(pkg, "github.com/allegro/bigcache/") {
				inBigcache += n
			}
		}
		switch {
		case hot > 0 && total >= maxStrayAllocs:
			t.Errorf("a hot-tier hit allocates %.4f objects (%v); want none", total, got)
		case hot < 0 && (inBigcache < 0.99 || total-inBigcache >= maxStrayAllocs):
			t.Errorf("a bigcache hit allocates %v per read; want bigcache's copy-out, and only that", got)
		}
	}

	// A struct value: the hot tier holds it decoded, so a hit neither
	// decodes nor allocates.
	u := newWarp[user](t, memory.New[user](memory.Options{}), WithNodeConfig[user](actors.Config{SweepInterval: time.Hour}))
	_ = u.Register("u:*", ModeStrongLocal, time.Minute)
	if err := u.Set(ctx, "u:1", user{Name: "ada", Age: 36}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := u.Get(ctx, "u:1"); err != nil {
			t.Fatal(err)
		}
	}
	if h := u.router.Hash("u:1"); u.router.Shard(h).Hot("u:1", h) == nil {
		t.Fatal("the struct key is not in the hot tier")
	}
	for pkg, n := range allocs.ByPackage(10_000, func() { _, _ = u.Get(ctx, "u:1") }) {
		if n >= maxStrayAllocs {
			t.Errorf("a hot-tier hit of a struct allocates %.4f objects in %s; want none", n, pkg)
		}
	}
}

// maxStrayAllocs bounds the allocations per call that setAllocs' callers
// forgive: the pools' refills after the profiler's collections (a few
// objects in all), never one per call.
const maxStrayAllocs = 0.001

// setAllocs writes four keys prefill times, then returns the allocations
// per Set of the next runs writes by package (allocs.ByPackage), on a
// node that does not sweep meanwhile; maxBytes 0 keeps the default bound.
func setAllocs(t *testing.T, maxBytes, prefill, runs int) map[string]float64 {
	t.Helper()
	ctx := context.Background()
	opts := []Option[[]byte]{WithNodeConfig[[]byte](actors.Config{SweepInterval: time.Hour})}
	if maxBytes > 0 {
		opts = append(opts, WithMaxBytes[[]byte](maxBytes))
	}
	w := newWarp[[]byte](t, memory.New[[]byte](memory.Options{}), opts...)
	_ = w.Register("k:*", ModeStrongLocal, time.Minute)
	val := make([]byte, 64)
	keys := []string{"k:1", "k:2", "k:3", "k:4"}
	for i := range max(prefill, len(keys)) {
		if err := w.Set(ctx, keys[i%len(keys)], val); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	return allocs.ByPackage(runs, func() {
		if err := w.Set(ctx, keys[i%len(keys)], val); err != nil {
			t.Fatal(err)
		}
		i++
	})
}

func TestLoaderPanicIsAnError(t *testing.T) {
	t.Parallel()
	spy := &spyStore[string]{Store: memory.New[string](memory.Options{}), panics: true}
	w := newWarp[string](t, spy)
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	if _, err := w.Get(context.Background(), "k"); !errors.Is(err, ErrLoader) {
		t.Fatalf("err = %v; want ErrLoader", err)
	}
}

func TestNegativeCaching(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
	w := newWarp[string](t, spy)
	_ = w.Register("k", ModeStrongLocal, time.Minute, WithNegativeTTL(time.Minute))
	for range 3 {
		if _, err := w.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v; want ErrNotFound", err)
		}
	}
	if g := spy.gets.Load(); g != 1 {
		t.Fatalf("store loads = %d; want 1 (misses cached)", g)
	}
	_ = w.Set(ctx, "k", "now here")
	if v, err := w.Get(ctx, "k"); err != nil || v != "now here" {
		t.Fatalf("Get after Set = %q, %v", v, err)
	}
}

// TestInvalidateDropsNegativeEntry: a cached "not found" hides a row
// created outside Warp until an invalidation of the key drops it, local
// (Invalidate) or remote (another node's write, applied with its version).
func TestInvalidateDropsNegativeEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
	w := newWarp[string](t, spy)
	_ = w.Register("k:*", ModeEventualDistributed, time.Minute, WithNegativeTTL(time.Minute))
	remote := func(key string) error {
		ver, err := spy.Store.Set(ctx, key, "written elsewhere", store.Write{})
		if err != nil {
			return err
		}
		return applier[string]{w}.Invalidate(ctx, key, ver)
	}
	for name, invalidate := range map[string]func(string) error{
		"local":  func(key string) error { return w.Invalidate(ctx, key) },
		"remote": remote,
	} {
		key := "k:" + name
		for range 2 {
			if _, err := w.Get(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: Get of a missing key: err = %v; want ErrNotFound", name, err)
			}
		}
		loads := spy.gets.Load()
		if name == "local" { // created outside Warp: the negative entry hides it
			if _, err := spy.Store.Set(ctx, key, "written elsewhere", store.Write{}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Get(ctx, key); !errors.Is(err, ErrNotFound) || spy.gets.Load() != loads {
				t.Fatalf("%s: Get before the invalidation = %v after %d loads; want the cached ErrNotFound", name, err, spy.gets.Load()-loads)
			}
		}
		if err := invalidate(key); err != nil {
			t.Fatal(err)
		}
		if v, err := w.Get(ctx, key); err != nil || v != "written elsewhere" {
			t.Fatalf("%s: Get after the invalidation = %q, %v; want the store's value", name, v, err)
		}
		if g := spy.gets.Load() - loads; g != 1 {
			t.Fatalf("%s: store loads after the invalidation = %d; want 1", name, g)
		}
	}
}

// failingGets is a store whose loads fail with err.
type failingGets[T any] struct {
	store.Store[T]
	err error
}

func (s failingGets[T]) Get(context.Context, string) (store.Item[T], error) {
	return store.Item[T]{}, s.err
}

// undecodable is a string codec that cannot decode what it encoded.
type undecodable struct{ codec.String }

func (undecodable) Decode([]byte) (string, error) { return "", errors.New("corrupt value") }

// TestLoadFailureIsALoaderError: a store that fails a load, or a codec
// that cannot decode a cached value, is an ErrLoader error that still
// wraps the cause.
func TestLoadFailureIsALoaderError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cause := errors.New("connection refused")
	w := newWarp[string](t, failingGets[string]{memory.New[string](memory.Options{}), cause})
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	if _, err := w.Get(ctx, "k"); !errors.Is(err, ErrLoader) || !errors.Is(err, cause) {
		t.Fatalf("Get over a failing store: err = %v; want ErrLoader wrapping %v", err, cause)
	}
	w = newWarp(t, memory.New[string](memory.Options{}), WithCodec[string](undecodable{}))
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	if err := w.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Get(ctx, "k"); !errors.Is(err, ErrLoader) || !errors.Is(err, ErrCodec) {
		t.Fatalf("Get of an undecodable cached value: err = %v; want ErrLoader and ErrCodec", err)
	}
}

// unencodable is a string codec that cannot encode "bad".
type unencodable struct{ codec.String }

func (c unencodable) Append(dst []byte, v string) ([]byte, error) {
	if v == "bad" {
		return nil, errors.New("unsupported value")
	}
	return c.String.Append(dst, v)
}

// TestCodecFailuresWrapErrCodec: a value the codec cannot encode is an
// ErrCodec error on Set, which writes nothing, and on a load, where it is
// an ErrLoader error too; a transaction's comparison that cannot encode
// its values is an ErrCodec error too, and commits nothing.
func TestCodecFailuresWrapErrCodec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := memory.New[string](memory.Options{})
	w := newWarp(t, mem, WithCodec[string](unencodable{}))
	_ = w.Register("k:*", ModeStrongLocal, time.Minute)
	if err := w.Set(ctx, "k:set", "bad"); !errors.Is(err, ErrCodec) {
		t.Fatalf("Set of an unencodable value: err = %v; want ErrCodec", err)
	}
	if _, err := mem.Get(ctx, "k:set"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("store after the failed Set: err = %v; want nothing written", err)
	}
	if _, err := mem.Set(ctx, "k:load", "bad", store.Write{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Get(ctx, "k:load"); !errors.Is(err, ErrLoader) || !errors.Is(err, ErrCodec) {
		t.Fatalf("Get of an unencodable stored value: err = %v; want ErrLoader and ErrCodec", err)
	}
	txn := w.Txn(ctx)
	txn.CompareAndSwap("k:load", "old", "new")
	if err := txn.Commit(); !errors.Is(err, ErrCodec) {
		t.Fatalf("Commit comparing an unencodable value: err = %v; want ErrCodec", err)
	}
	if it, err := mem.Get(ctx, "k:load"); err != nil || it.Value != "bad" {
		t.Fatalf("store after the failed Commit = %q, %v; want it unchanged", it.Value, err)
	}
}

// TestValueTooLargeToCacheIsServed: a stored value over MaxValueSize,
// written by someone else, is served from the store on every read, never
// cached and never refused.
func TestValueTooLargeToCacheIsServed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spy := &spyStore[[]byte]{Store: memory.New[[]byte](memory.Options{})}
	w := newWarp[[]byte](t, spy, WithMaxValueSize[[]byte](16))
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	big := make([]byte, 17)
	if _, err := spy.Store.Set(ctx, "k", big, store.Write{}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		got, err := w.Get(ctx, "k")
		if err != nil || len(got) != len(big) {
			t.Fatalf("Get %d of a value over the limit = %d bytes, %v; want the store's %d", i, len(got), err, len(big))
		}
	}
	if n := spy.gets.Load(); n != 2 {
		t.Fatalf("%d store loads for 2 reads; want 2 (the value is not cached)", n)
	}
}

// TestLoadIsBoundedBy30s: a load runs detached from its callers, so a hung
// store would hold it for ever; it is cut off after 30 s, and the caller
// gets an ErrLoader error wrapping the deadline.
func TestLoadIsBoundedBy30s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := hungWarp(t, "k", ModeStrongLocal)
		defer w.Close()
		const bound = 30 * time.Second
		start := time.Now()
		var err error
		done := make(chan error, 1)
		go func() { _, err := w.Get(context.Background(), "k"); done <- err }()
		select {
		case err = <-done:
		case <-time.After(2 * bound):
			t.Fatalf("Get on a hung store still waits after %v", 2*bound)
		}
		if !errors.Is(err, ErrLoader) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Get on a hung store: err = %v; want ErrLoader wrapping DeadlineExceeded", err)
		}
		if took := time.Since(start); took != bound {
			t.Fatalf("the load was cut off after %v; want %v", took, bound)
		}
	})
}

// TestTTLExpiry runs in a synctest bubble: the node's clock and ticker use
// fake time, so the test advances an hour without waiting.
func TestTTLExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
		w, err := New[string](spy, WithNodeConfig[string](actors.Config{}))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		_ = w.Register("k", ModeStrongLocal, time.Second)
		_ = w.Set(ctx, "k", "v")
		time.Sleep(900 * time.Millisecond)
		_, _ = w.Get(ctx, "k")
		if g := spy.gets.Load(); g != 0 {
			t.Fatalf("loads before expiry = %d; want 0", g)
		}
		time.Sleep(200 * time.Millisecond)
		if v, err := w.Get(ctx, "k"); err != nil || v != "v" {
			t.Fatalf("Get = %q, %v", v, err)
		}
		if g := spy.gets.Load(); g != 1 {
			t.Fatalf("loads after expiry = %d; want 1", g)
		}
		// The sweep drops expired entries without any read.
		time.Sleep(time.Hour)
		synctest.Wait()
		if st := w.Stats(); st.Expired == 0 {
			t.Fatalf("Expired = 0 after an hour; want the sweep to drop the entry")
		}
	})
}

func TestMergeSumLosesNoUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := merge.NewEngine[int]()
	if err := eng.Register("counter:*", merge.Sum[int]); err != nil {
		t.Fatal(err)
	}
	w := newWarp(t, memory.New[int](memory.Options{}), WithMergeEngine(eng))
	_ = w.Register("counter:*", ModeStrongLocal, time.Minute)
	const n = 10000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := w.Set(ctx, "counter:hits", 1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, err := w.Get(ctx, "counter:hits"); err != nil || got != n {
		t.Fatalf("counter = %d, %v; want %d", got, err, n)
	}
}

// interferingStore runs interfere (another writer) before each
// conditional write, and counts those writes.
type interferingStore[T any] struct {
	store.Store[T]
	interfere func(attempt int64)
	casWrites atomic.Int64
}

func (s *interferingStore[T]) Set(ctx context.Context, key string, v T, wr store.Write) (merge.Version, error) {
	if wr.Check {
		s.interfere(s.casWrites.Add(1))
	}
	return s.Store.Set(ctx, key, v, wr)
}

// TestMergeRetriesAtMost64Times: a merged Set whose compare-and-swap finds
// that another writer wrote in between reads the store again, merges and
// retries; after 64 retries it gives up with an error wrapping
// store.ErrConflict and writes nothing.
func TestMergeRetriesAtMost64Times(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name         string
		interfered   int64 // attempts that find another write
		wantAttempts int64
		wantErr      error
		want         int
	}{
		{"three conflicts", 3, 4, nil, 100 + 1},
		{"always", 1 << 30, 1 + 64, store.ErrConflict, 100},
	} {
		eng := merge.NewEngine[int]()
		if err := eng.Register("counter:*", merge.Sum[int]); err != nil {
			t.Fatal(err)
		}
		st := &interferingStore[int]{Store: memory.New[int](memory.Options{})}
		st.interfere = func(attempt int64) {
			if attempt <= tt.interfered {
				if _, err := st.Store.Set(ctx, "counter:c", 100, store.Write{}); err != nil {
					t.Error(err)
				}
			}
		}
		w := newWarp[int](t, st, WithMergeEngine(eng))
		_ = w.Register("counter:*", ModeStrongLocal, time.Minute)
		if err := w.Set(ctx, "counter:c", 1); !errors.Is(err, tt.wantErr) {
			t.Fatalf("%s: Set err = %v; want %v", tt.name, err, tt.wantErr)
		}
		if n := st.casWrites.Load(); n != tt.wantAttempts {
			t.Fatalf("%s: %d conditional writes; want %d", tt.name, n, tt.wantAttempts)
		}
		if got, err := w.Get(ctx, "counter:c"); err != nil || got != tt.want {
			t.Fatalf("%s: counter = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestMergePanicIsAnError(t *testing.T) {
	t.Parallel()
	eng := merge.NewEngine[int]()
	_ = eng.Register("k", func(int, bool, int) (int, error) { panic("boom") })
	w := newWarp(t, memory.New[int](memory.Options{}), WithMergeEngine(eng))
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	if err := w.Set(context.Background(), "k", 1); !errors.Is(err, merge.ErrMerge) {
		t.Fatalf("err = %v; want merge.ErrMerge", err)
	}
	if err := w.Set(context.Background(), "k", 1); !errors.Is(err, merge.ErrMerge) {
		t.Fatalf("second Set (lock released?) err = %v; want merge.ErrMerge", err)
	}
}

// TestMergeErrorRefusesTheWrite: a merge function that returns an error
// (or panics) fails the Set with an error wrapping merge.ErrMerge and the
// cause, and leaves the store and the cache as they were.
func TestMergeErrorRefusesTheWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	refused := errors.New("over the limit")
	eng := merge.NewEngine[int]()
	_ = eng.Register("k", func(cur int, _ bool, in int) (int, error) {
		if cur+in > 10 {
			return 0, refused
		}
		return cur + in, nil
	})
	mem := memory.New[int](memory.Options{})
	w := newWarp(t, mem, WithMergeEngine(eng))
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	if err := w.Set(ctx, "k", 7); err != nil {
		t.Fatal(err)
	}
	before, err := mem.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Set(ctx, "k", 5); !errors.Is(err, merge.ErrMerge) || !errors.Is(err, refused) {
		t.Fatalf("Set the merge refuses: err = %v; want merge.ErrMerge wrapping %v", err, refused)
	}
	if after, err := mem.Get(ctx, "k"); err != nil || after != before {
		t.Fatalf("store after the refused Set = %+v, %v; want %+v unchanged", after, err, before)
	}
	if v, err := w.Get(ctx, "k"); err != nil || v != 7 {
		t.Fatalf("Get after the refused Set = %d, %v; want 7", v, err)
	}
}

// TestShardPanicRestartsEmpty makes a shard panic through its test seam:
// the caller gets an error at once, the shard restarts empty with a higher
// generation, and it serves again.
func TestShardPanicRestartsEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var boom atomic.Bool
	o := func(o *options[string]) error {
		o.router.Shards = 1
		o.router.Shard.OnReceive = func(m any) {
			if _, ok := m.(*messages.Install); ok && boom.Load() {
				panic("injected")
			}
		}
		return nil
	}
	spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
	w := newWarp[string](t, spy, o)
	_ = w.Register("k:*", ModeStrongLocal, time.Minute)
	_ = w.Set(ctx, "k:1", "one")
	boom.Store(true)
	// The store accepted the write; the failed install is reported, and
	// the shard dropped nothing newer than what the store has.
	if err := w.Set(ctx, "k:2", "two"); err != nil {
		t.Fatalf("Set = %v", err)
	}
	boom.Store(false)
	if err := <-w.PublishErrors(); err == nil || !strings.Contains(err.Error(), "restarted") {
		t.Fatalf("reported error = %v; want a shard restart", err)
	}
	if st := w.Stats(); st.Restarts != 1 || st.Entries != 0 {
		t.Fatalf("after panic: restarts %d, entries %d; want 1, 0", st.Restarts, st.Entries)
	}
	for k, want := range map[string]string{"k:1": "one", "k:2": "two"} {
		if v, err := w.Get(ctx, k); err != nil || v != want {
			t.Fatalf("Get(%s) = %q, %v; want %q", k, v, err, want)
		}
	}
}

func TestWarmup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
	for i := range 20 {
		_, _ = spy.Store.Set(ctx, fmt.Sprintf("p:%d", i), "v", store.Write{})
	}
	_, _ = spy.Store.Set(ctx, "single", "s", store.Write{})
	w := newWarp[string](t, spy)
	_ = w.Register("p:*", ModeStrongLocal, time.Minute)
	_ = w.Register("single", ModeStrongLocal, time.Minute)
	if err := w.Warmup(ctx); err != nil {
		t.Fatal(err)
	}
	before := spy.gets.Load()
	for i := range 20 {
		if v, err := w.Get(ctx, fmt.Sprintf("p:%d", i)); err != nil || v != "v" {
			t.Fatalf("Get = %q, %v", v, err)
		}
	}
	if _, err := w.Get(ctx, "single"); err != nil {
		t.Fatal(err)
	}
	if g := spy.gets.Load() - before; g != 0 {
		t.Fatalf("loads after warmup = %d; want 0", g)
	}
}

// snapshotScanStore scans its items first, then hands them out, calling
// between before each: a store whose scan returns a snapshot read before
// a concurrent write.
type snapshotScanStore[T any] struct {
	store.Store[T]
	between func(key string)
}

func (s *snapshotScanStore[T]) Scan(ctx context.Context, prefix string, fn func(string, store.Item[T]) error) error {
	type kv struct {
		k  string
		it store.Item[T]
	}
	var items []kv
	if err := s.Store.Scan(ctx, prefix, func(k string, it store.Item[T]) error {
		items = append(items, kv{k, it})
		return nil
	}); err != nil {
		return err
	}
	for _, x := range items {
		s.between(x.k)
		if err := fn(x.k, x.it); err != nil {
			return err
		}
	}
	return nil
}

// TestWarmupRacingWrite forces a change between the warmup's scan of a key
// and the install of what it read: a write on this node, or another
// node's write (the store changes, an invalidation drops the key). The
// warmed, older value must not land.
func TestWarmupRacingWrite(t *testing.T) {
	t.Parallel()
	for _, remote := range []bool{false, true} {
		t.Run(fmt.Sprintf("remote=%v", remote), func(t *testing.T) {
			ctx := context.Background()
			var w *Warp[string]
			st := &snapshotScanStore[string]{Store: memory.New[string](memory.Options{})}
			st.between = func(key string) {
				if key != "p:1" {
					return
				}
				var err error
				if remote {
					_, err = st.Store.Set(ctx, "p:1", "new", store.Write{})
					if err == nil {
						err = w.Invalidate(ctx, "p:1")
					}
				} else {
					err = w.Set(ctx, "p:1", "new")
				}
				if err != nil {
					t.Error(err)
				}
			}
			for i := range 3 {
				_, _ = st.Store.Set(ctx, fmt.Sprintf("p:%d", i), "old", store.Write{})
			}
			w = newWarp[string](t, st)
			_ = w.Register("p:*", ModeStrongLocal, time.Minute)
			if err := w.Warmup(ctx); err != nil {
				t.Fatal(err)
			}
			if v, err := w.Get(ctx, "p:1"); err != nil || v != "new" {
				t.Fatalf("Get(p:1) = %q, %v after a write during warmup; want new", v, err)
			}
			if v, err := w.Get(ctx, "p:0"); err != nil || v != "old" {
				t.Fatalf("Get(p:0) = %q, %v; want old", v, err)
			}
		})
	}
}

func TestAdaptiveTTL(t *testing.T) {
	t.Parallel()
	a := AdaptiveTTL{Min: time.Second, Max: time.Minute}
	tests := []struct {
		s    KeyStats
		want time.Duration
	}{
		{KeyStats{}, time.Second},
		{KeyStats{Reads: 100}, 11 * time.Second},
		{KeyStats{Reads: 10000}, time.Minute},
		{KeyStats{Reads: 10000, Writes: 1, SinceWrite: 5 * time.Second}, 5 * time.Second},
		{KeyStats{Reads: 1, Writes: 1, SinceWrite: time.Millisecond}, time.Second},
	}
	for _, tt := range tests {
		if got := a.TTL(tt.s); got != tt.want {
			t.Errorf("TTL(%+v) = %v; want %v", tt.s, got, tt.want)
		}
	}
}

func TestDynamicTTLFollowsReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		w, spy := readHot(t)
		defer w.Close()
		loads := spy.gets.Load()
		time.Sleep(30 * time.Second)
		_, _ = w.Get(ctx, "k")
		if spy.gets.Load() != loads {
			t.Fatalf("a read-hot key expired after 30s; want its TTL to have grown")
		}
	})
}

// readHot returns an instance whose key "k" (adaptive TTL from 1 s to 1 h)
// was read 100 times in its first second and has just been reloaded, its
// TTL now reflecting those reads, and the store that counts its loads.
// Call it inside a synctest bubble; the caller closes the instance.
func readHot(t *testing.T) (*Warp[string], *spyStore[string]) {
	t.Helper()
	ctx := context.Background()
	spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
	w, err := New[string](spy, WithNodeConfig[string](actors.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.RegisterDynamicTTL("k", ModeStrongLocal, AdaptiveTTL{Min: time.Second, Max: time.Hour, Scale: 1}); err != nil {
		_ = w.Close()
		t.Fatal(err)
	}
	_, _ = spy.Store.Set(ctx, "k", "v", store.Write{})
	for range 100 { // the first load gets Min; 99 hits are counted
		_, _ = w.Get(ctx, "k")
	}
	time.Sleep(1100 * time.Millisecond)
	_, _ = w.Get(ctx, "k") // reload: 99 reads a minute, TTL 100s
	return w, spy
}

// appliedButFailed is a store whose Set applies the write, then reports an
// error, as a store does when the connection drops after the commit.
type appliedButFailed[T any] struct{ store.Store[T] }

func (s appliedButFailed[T]) Set(ctx context.Context, key string, v T, wr store.Write) (merge.Version, error) {
	_, _ = s.Store.Set(ctx, key, v, wr)
	return 0, errors.New("connection lost after commit")
}

// TestFailedStoreWriteDropsCachedCopy: a store error may mean "applied", so
// the writer must not keep serving its older cached copy.
func TestFailedStoreWriteDropsCachedCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := memory.New[string](memory.Options{})
	w := newWarp[string](t, appliedButFailed[string]{mem})
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	_, _ = mem.Set(ctx, "k", "old", store.Write{})
	if v, _ := w.Get(ctx, "k"); v != "old" {
		t.Fatalf("Get = %q; want old", v)
	}
	if err := w.Set(ctx, "k", "new"); err == nil {
		t.Fatal("Set succeeded; want the store's error")
	}
	if v, _ := w.Get(ctx, "k"); v != "new" {
		t.Fatalf("Get after a failed-but-applied write = %q; want new (reloaded)", v)
	}
}

// TestValueTooLargeToCache: a value larger than a shard's cache can hold is
// refused with ErrTooLarge and nothing is written, rather than stored and
// then read from the store on every Get.
func TestValueTooLargeToCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New[[]byte](memory.Options{})
	w := newWarp(t, st, WithMaxBytes[[]byte](8<<20), WithShards[[]byte](8)) // 1 MiB a shard
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	limit := w.MaxValueSize()
	if limit <= 0 || limit >= DefaultMaxValueSize {
		t.Fatalf("MaxValueSize = %d; want lowered below %d", limit, DefaultMaxValueSize)
	}
	if err := w.Set(ctx, "k", make([]byte, limit+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Set over the limit: err = %v; want ErrTooLarge", err)
	}
	if _, err := st.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused value reached the store: %v", err)
	}
	if err := w.Set(ctx, "k", make([]byte, limit)); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.router.Shard(w.router.Hash("k")).Load("k"); !ok {
		t.Fatal("a value at the limit is not cached")
	}
	select {
	case err := <-w.PublishErrors():
		t.Fatalf("asynchronous error: %v", err)
	default:
	}
}

// TestCancelledCallerLeavesSharedLoad: callers whose context can be
// cancelled share the load too (DoChan); one that gives up returns its
// context's error at once, and the others still get the value.
func TestCancelledCallerLeavesSharedLoad(t *testing.T) {
	t.Parallel()
	spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
	w := newWarp[string](t, spy)
	_ = w.Register("k", ModeStrongLocal, time.Minute)
	_, _ = spy.Store.Set(context.Background(), "k", "v", store.Write{})
	spy.loaded, spy.hold = make(chan struct{}, 1), make(chan struct{})
	patient, cancelPatient := context.WithCancel(context.Background())
	defer cancelPatient()
	base, cancel := context.WithCancel(context.Background())
	impatient := &doneAsked{Context: base, asked: make(chan struct{})}
	got := make(chan string, 1)
	go func() { v, _ := w.Get(patient, "k"); got <- v }()
	<-spy.loaded // the shared load has read the store and is held
	errc := make(chan error, 1)
	go func() { _, err := w.Get(impatient, "k"); errc <- err }()
	<-impatient.asked // it is choosing how to wait for the shared load
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v; want context.Canceled", err)
	}
	close(spy.hold)
	if v := <-got; v != "v" {
		t.Fatalf("patient caller got %q; want v", v)
	}
	if g := spy.gets.Load(); g != 1 {
		t.Fatalf("store loads = %d; want 1 (shared)", g)
	}
}

// doneAsked is a context that reports the first call of Done: the point
// where Get decides how to wait for a load.
type doneAsked struct {
	context.Context
	once  sync.Once
	asked chan struct{}
}

func (c *doneAsked) Done() <-chan struct{} {
	c.once.Do(func() { close(c.asked) })
	return c.Context.Done()
}

// TestMaxValueSizeKeepsWithShards: the largest cacheable value does not
// shrink as shards multiply: the default bound on 256 shards (the default
// shard count on 16 cores, 1 MiB a shard) caches values of half a MiB as
// 32 shards do. It used to be a quarter of that (126 KiB): each shard
// split its MiB into 4 queues.
func TestMaxValueSizeKeepsWithShards(t *testing.T) {
	t.Parallel()
	st := memory.New[[]byte](memory.Options{})
	for _, shards := range []int{32, 256} {
		w := newWarp(t, st, WithShards[[]byte](shards))
		if got := w.MaxValueSize(); got < 500<<10 {
			t.Errorf("MaxValueSize on %d shards of the default bound = %d; want at least %d", shards, got, 500<<10)
		}
	}
}
