package api

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

const minute = int64(time.Minute)

// TestKeyStatsRates: the estimates are rates per statsWindow, not lifetime
// totals, and traffic that stopped decays to nothing.
func TestKeyStatsRates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		readsPerMinute   int
		minutes          int64 // of steady traffic, one write a minute
		silence          int64 // minutes without traffic before the snapshot
		wantLo, wantHi   uint64
		wantWrites       uint64
		wantSinceWriteMi int64
	}{
		{"first minute", 60, 1, 0, 60, 60, 1, 1},
		{"steady 10 minutes", 60, 10, 0, 58, 62, 1, 1},
		{"steady 3 hours", 60, 180, 0, 58, 62, 1, 1},
		{"10 minutes after 10 busy ones", 60, 10, 10, 5, 13, 1, 11},
		{"a day after", 60, 10, 24 * 60, 0, 1, 0, 24*60 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s keyStats
			now := int64(0)
			for m := range tt.minutes {
				now = m * minute
				s.snapshot("k", kh("k"), now) // an install, as each reload does
				s.wrote(kh("k"), now)
				for range tt.readsPerMinute {
					s.read(kh("k"))
				}
			}
			now = (tt.minutes + tt.silence) * minute
			got := s.snapshot("k", kh("k"), now)
			if got.Reads < tt.wantLo || got.Reads > tt.wantHi {
				t.Errorf("Reads = %d; want %d..%d (a rate per minute)", got.Reads, tt.wantLo, tt.wantHi)
			}
			if got.Writes != tt.wantWrites {
				t.Errorf("Writes = %d; want %d", got.Writes, tt.wantWrites)
			}
			if want := time.Duration(tt.wantSinceWriteMi) * time.Minute; got.SinceWrite != want {
				t.Errorf("SinceWrite = %v; want %v", got.SinceWrite, want)
			}
		})
	}
}

// TestKeyStatsUnknownKey: a key never counted gets zeros, even beside a
// busy one (with 2^14 slots a row, a collision in all four rows is
// unlikely enough for this key set).
func TestKeyStatsUnknownKey(t *testing.T) {
	t.Parallel()
	var s keyStats
	s.wrote(kh("busy"), 0)
	for range 1000 {
		s.read(kh("busy"))
	}
	got := s.snapshot("idle", kh("idle"), minute)
	if got.Reads != 0 || got.Writes != 0 || got.SinceWrite != 0 {
		t.Fatalf("snapshot(idle) = %+v; want zeros", got)
	}
	if got := s.snapshot("busy", kh("busy"), minute); got.Reads != 1000 || got.Writes != 1 || got.SinceWrite != time.Minute {
		t.Fatalf("snapshot(busy) = %+v; want 1000 reads, 1 write, 1m since", got)
	}
}

// TestKeyStatsReadBeforeSketch: a read counted before any install is
// dropped, not a panic.
func TestKeyStatsReadBeforeSketch(t *testing.T) {
	t.Parallel()
	var s keyStats
	s.read(kh("k"))
	if got := s.snapshot("k", kh("k"), 0); got.Reads != 0 {
		t.Fatalf("Reads = %d; want 0", got.Reads)
	}
}

// TestDynamicTTLForgetsOldReads: a key that was read hot and then left
// alone gets a short TTL again, where lifetime totals would keep it long.
func TestDynamicTTLForgetsOldReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		w, spy := readHot(t)
		defer w.Close()
		time.Sleep(10 * time.Minute)
		_, _ = w.Get(ctx, "k") // reload: about 10 reads a minute, TTL 11s
		loads := spy.gets.Load()
		time.Sleep(15 * time.Second)
		_, _ = w.Get(ctx, "k")
		if got := spy.gets.Load(); got != loads+1 {
			t.Fatalf("store loads after 15s = %d; want %d: the TTL still follows reads ten minutes old", got, loads+1)
		}
	})
}

// anyKeyStore serves a value for every key and stores nothing, so that a
// run's heap holds only Warp's own state.
type anyKeyStore struct{ store.Store[string] }

func (anyKeyStore) Get(context.Context, string) (store.Item[string], error) {
	return store.Item[string]{Value: "v", Version: 1}, nil
}

// heapAfterKeys returns how much the heap grew while one instance loaded n
// distinct keys of a family registered by reg, measured with the instance
// alive.
func heapAfterKeys(t *testing.T, n int, reg func(*Warp[string]) error) uint64 {
	t.Helper()
	ctx := context.Background()
	before := heapInUse()
	w, err := New[string](anyKeyStore{memory.New[string](memory.Options{})}, WithMaxBytes[string](16<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := reg(w); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := w.Get(ctx, fmt.Sprintf("session:%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	after := heapInUse()
	runtime.KeepAlive(w)
	return after - min(after, before)
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestDynamicTTLHeapBounded: a million distinct dynamic-TTL keys cost the
// heap no more than the same keys with a fixed TTL, plus the sketch.
func TestDynamicTTLHeapBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("loads a million keys: seconds without -race and -short")
	}
	const n = 1_000_000
	fixed := heapAfterKeys(t, n, func(w *Warp[string]) error {
		return w.Register("session:*", ModeStrongLocal, time.Minute)
	})
	dynamic := heapAfterKeys(t, n, func(w *Warp[string]) error {
		return w.RegisterDynamicTTL("session:*", ModeStrongLocal, AdaptiveTTL{Min: time.Second, Max: time.Minute})
	})
	t.Logf("heap after %d keys: Register %.1f MiB, RegisterDynamicTTL %.1f MiB", n, mib(fixed), mib(dynamic))
	if limit := fixed + 4<<20; dynamic > limit {
		t.Fatalf("heap with dynamic TTLs = %.1f MiB; want at most %.1f (fixed TTLs + 4 MiB)", mib(dynamic), mib(limit))
	}
}

// TestKeyStatsHeapBounded: the statistics of a million keys (a hundred
// thousand under -race) fit in the sketch allocated for the first one.
func TestKeyStatsHeapBounded(t *testing.T) {
	n := 1_000_000
	if raceEnabled {
		n = 100_000
	}
	var s keyStats
	s.snapshot("first", kh("first"), 0)
	before := heapInUse()
	key := make([]byte, 0, 32)
	for i := range n {
		key = fmt.Appendf(key[:0], "session:%d", i)
		h := maphash.Bytes(khSeed, key)
		s.snapshot("", h, int64(i))
		s.wrote(h, int64(i))
		s.read(h)
	}
	after := heapInUse()
	grew := after - min(after, before)
	runtime.KeepAlive(&s)
	if grew > 1<<20 {
		t.Fatalf("heap grew %.1f MiB for %d keys; want under 1 MiB", mib(grew), n)
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// BenchmarkGetHitTTL: a cache hit of a fixed-TTL key (the baseline) and of
// a dynamic-TTL key, whose read is counted in the sketch.
func BenchmarkGetHitTTL(b *testing.B) {
	for _, bc := range []struct {
		name string
		reg  func(*Warp[string]) error
	}{
		{"fixed", func(w *Warp[string]) error { return w.Register("k:*", ModeStrongLocal, time.Hour) }},
		{"dynamic", func(w *Warp[string]) error {
			return w.RegisterDynamicTTL("k:*", ModeStrongLocal, AdaptiveTTL{Min: time.Hour, Max: time.Hour})
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			w, err := New[string](memory.New[string](memory.Options{}))
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			if err := bc.reg(w); err != nil {
				b.Fatal(err)
			}
			keys := make([]string, 64)
			for i := range keys {
				keys[i] = fmt.Sprintf("k:%d", i)
				if err := w.Set(ctx, keys[i], "v"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					if _, err := w.Get(ctx, keys[i&63]); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// khSeed and kh hash keys for the keyStats tests, as the router does.
var khSeed = maphash.MakeSeed()

func kh(key string) uint64 { return maphash.String(khSeed, key) }
