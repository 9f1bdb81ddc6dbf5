package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allegro/bigcache/v3"
	"github.com/maypok86/otter/v2"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api/codec"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

const benchKeys = 100_000

var benchKeyNames = func() []string {
	k := make([]string, benchKeys)
	for i := range k {
		k[i] = fmt.Sprintf("user:%08d", i)
	}
	return k
}()

// keyOrder returns a sequence of key indexes, uniform or Zipf (s=1.1),
// drawn from the random stream seed names.
func keyOrder(zipf bool, seed uint64) []int {
	r := rand.New(rand.NewPCG(1, seed))
	z := rand.NewZipf(r, 1.1, 1, benchKeys-1)
	out := make([]int, 1<<16)
	for i := range out {
		if zipf {
			out[i] = int(z.Uint64())
		} else {
			out[i] = r.IntN(benchKeys)
		}
	}
	return out
}

func rawBigcache(b *testing.B, val []byte) *bigcache.BigCache {
	// The same memory bound as Warp's default, so that under overwrites
	// both reach bigcache's steady state (evicting from the queue's head)
	// instead of growing the queue for as long as the benchmark runs.
	cfg := bigcache.DefaultConfig(time.Hour)
	cfg.CleanWindow, cfg.Verbose = 0, false
	cfg.HardMaxCacheSize = actors.DefaultMaxBytes >> 20
	cfg.MaxEntrySize = 256
	cfg.MaxEntriesInWindow = actors.DefaultMaxBytes / 8 / cfg.MaxEntrySize
	c, err := bigcache.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	for _, k := range benchKeyNames {
		_ = c.Set(k, val)
	}
	return c
}

// otterPeers returns otter holding value(i) for every benchmark key
// twice: without expiry (otter then never reads the clock on a read) and
// with the one-hour TTL the benchmarks register Warp's keys with (otter
// then reads the clock on every read to check it, as a Warp hit does).
func otterPeers[V any](value func(i int) V) (plain, ttl *otter.Cache[string, V]) {
	plain = otter.Must(&otter.Options[string, V]{MaximumSize: 2 * benchKeys})
	ttl = otter.Must(&otter.Options[string, V]{MaximumSize: 2 * benchKeys,
		ExpiryCalculator: otter.ExpiryWriting[string, V](time.Hour)})
	for i, k := range benchKeyNames {
		plain.Set(k, value(i))
		ttl.Set(k, value(i))
	}
	return plain, ttl
}

// BenchmarkGetHit compares a Warp L1 hit of a 64-byte []byte value with raw
// bigcache and otter holding the same bytes, in the same run; otter both
// without expiry and with the TTL Warp's keys have (otterPeers).
func BenchmarkGetHit(b *testing.B) {
	val := make([]byte, 64)
	for _, dist := range []string{"uniform", "zipf"} {
		order := keyOrder(dist == "zipf", 2)
		run := func(name string, get func(string), metrics ...func(*testing.B)) {
			b.Run(dist+"/"+name, func(b *testing.B) {
				parallelGets(b, order, get)
				for _, m := range metrics {
					m(b)
				}
			})
		}
		bc := rawBigcache(b, val)
		run("bigcache", func(k string) { _, _ = bc.Get(k) })
		oc, ot := otterPeers(func(int) []byte { return val })
		run("otter", func(k string) { _, _ = oc.GetIfPresent(k) })
		run("otter-ttl", func(k string) { _, _ = ot.GetIfPresent(k) })
		w := benchWarp(b, val, WithHotSlots[[]byte](16384))
		run("warp", func(k string) { _, _ = w.Get(context.Background(), k) }, func(b *testing.B) {
			b.ReportMetric(hotShare(w), "hot-share")
		})
		d := benchWarp(b, val) // the default hot tier: 32,768 slots in all
		run("warp-default", func(k string) { _, _ = d.Get(context.Background(), k) }, func(b *testing.B) {
			b.ReportMetric(hotShare(d), "hot-share")
		})
		cold := benchWarp(b, val, WithHotSlots[[]byte](-1))
		run("warp-nohot", func(k string) { _, _ = cold.Get(context.Background(), k) })
	}
}

// parallelGets runs get from b.RunParallel's goroutines over benchmark
// keys in order, each goroutine from a random place in it.
func parallelGets(b *testing.B, order []int, get func(string)) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(order))
		for pb.Next() {
			get(benchKeyNames[order[i&(len(order)-1)]])
			i++
		}
	})
}

// BenchmarkGetHitSerial is BenchmarkGetHit on one goroutine, for counting
// instructions per hit (valgrind --tool=callgrind on two -benchtime Nx runs:
// the difference over the difference of N is the hit alone, whatever the
// host is doing).
func BenchmarkGetHitSerial(b *testing.B) {
	val := make([]byte, 64)
	for _, dist := range []string{"uniform", "zipf"} {
		order := keyOrder(dist == "zipf", 2)
		run := func(name string, get func(string)) {
			b.Run(dist+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				serialHits(b, order, get)
			})
		}
		oc, ot := otterPeers(func(int) []byte { return val })
		run("otter", func(k string) { _, _ = oc.GetIfPresent(k) })
		run("otter-ttl", func(k string) { _, _ = ot.GetIfPresent(k) })
		w := benchWarp(b, val, WithHotSlots[[]byte](16384))
		run("warp", func(k string) { _, _ = w.Get(context.Background(), k) })
	}
}

// serialHits is the measured loop of BenchmarkGetHitSerial, a function of
// its own so that callgrind can count it alone
// (--toggle-collect='*serialHits*').
//
//go:noinline
func serialHits(b *testing.B, order []int, get func(string)) {
	for i := 0; b.Loop(); i++ {
		get(benchKeyNames[order[i&(len(order)-1)]])
	}
}

// BenchmarkGetHitBus compares, in the same run, a hit on a key served under
// the coherence lease (EventualDistributed, with a bus attached: one clock
// read shared with the TTL check, plus an atomic load of the lease) with a
// StrongLocal hit without a bus.
func BenchmarkGetHitBus(b *testing.B) {
	val := make([]byte, 64)
	for _, dist := range []string{"uniform", "zipf"} {
		order := keyOrder(dist == "zipf", 2)
		run := func(name string, w *Warp[[]byte]) {
			b.Run(dist+"/"+name, func(b *testing.B) {
				parallelGets(b, order, func(k string) { _, _ = w.Get(context.Background(), k) })
				if w.bus != nil && !w.bus.LeaseValid() {
					b.Fatal("the lease lapsed during the benchmark: hits went to the store")
				}
			})
		}
		run("strong-local", benchWarp(b, val))
		run("eventual+bus", benchWarpMode(b, val, ModeEventualDistributed,
			WithBus[[]byte](bus.Config{Cluster: "bench", Transport: inproc.NewHub().Transport()})))
	}
}

// hotShare returns the share of benchKeyNames that w's hot tier holds.
func hotShare(w *Warp[[]byte]) float64 {
	n := 0
	for _, k := range benchKeyNames {
		h := w.router.Hash(k)
		if w.router.Shard(h).Hot(k, h) != nil {
			n++
		}
	}
	return float64(n) / float64(len(benchKeyNames))
}

func benchWarp(b *testing.B, val []byte, opts ...Option[[]byte]) *Warp[[]byte] {
	return benchWarpMode(b, val, ModeStrongLocal, opts...)
}

// benchWarpMode is benchWarp with the keys registered in mode.
func benchWarpMode(b *testing.B, val []byte, mode Mode, opts ...Option[[]byte]) *Warp[[]byte] {
	ctx := context.Background()
	w, err := New[[]byte](memory.New[[]byte](memory.Options{}), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Close() })
	_ = w.Register("user:*", mode, time.Hour)
	if w.bus != nil {
		deadline := time.Now().Add(10 * time.Second)
		for !w.bus.LeaseValid() && time.Now().Before(deadline) {
			<-time.After(time.Millisecond)
		}
	}
	for _, k := range benchKeyNames {
		if err := w.Set(ctx, k, val); err != nil {
			b.Fatal(err)
		}
	}
	for range 2 { // promote what fits into the hot tier
		for _, k := range benchKeyNames {
			_, _ = w.Get(ctx, k)
		}
	}
	return w
}

// BenchmarkGetStruct reports the codec's share of a typed Get: a small
// struct served from the hot tier (decoded once) and from bigcache
// (decoded on every read).
func BenchmarkGetStruct(b *testing.B) {
	ctx := context.Background()
	for _, hot := range []int{16384, -1} {
		b.Run(fmt.Sprintf("hot=%v", hot > 0), func(b *testing.B) {
			w, _ := New[user](memory.New[user](memory.Options{}), WithHotSlots[user](hot))
			defer w.Close()
			_ = w.Register("user:*", ModeStrongLocal, time.Hour)
			for _, k := range benchKeyNames[:1000] {
				_ = w.Set(ctx, k, user{Name: "ada lovelace", Age: 36})
				_, _ = w.Get(ctx, k)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					_, _ = w.Get(ctx, benchKeyNames[i%1000])
					i++
				}
			})
		})
	}
	b.Run("decode-only", func(b *testing.B) {
		c := codec.Default[user]() // the codec a Warp[user] uses
		enc, _ := c.Append(nil, user{Name: "ada lovelace", Age: 36})
		b.ReportAllocs()
		for b.Loop() {
			_, _ = c.Decode(enc)
		}
	})
}

// profile is a 10-field struct, the typed value of BenchmarkGetProfile.
type profile struct {
	ID        int64
	Name      string
	Email     string
	Age       int
	Admin     bool
	Score     float64
	Country   string
	Plan      string
	CreatedAt int64
	Tags      []string
}

func sampleProfile(i int) profile {
	return profile{ID: int64(i), Name: "Ada Lovelace", Email: "ada@example.com", Age: 36, Admin: i%2 == 0,
		Score: 98.5, Country: "GB", Plan: "pro", CreatedAt: 1_700_000_000, Tags: []string{"math", "engines"}}
}

// BenchmarkGetProfile is a typed Get hit of a 10-field struct over 100k
// keys, against otter holding the same structs, in the same run: the cost
// of decoding a value served from bigcache rather than the hot tier.
func BenchmarkGetProfile(b *testing.B) {
	ctx := context.Background()
	for _, dist := range []string{"uniform", "zipf"} {
		order := keyOrder(dist == "zipf", 2)
		run := func(name string, get func(string)) {
			b.Run(dist+"/"+name, func(b *testing.B) { parallelGets(b, order, get) })
		}
		oc, ot := otterPeers(sampleProfile)
		run("otter", func(k string) { _, _ = oc.GetIfPresent(k) })
		run("otter-ttl", func(k string) { _, _ = ot.GetIfPresent(k) })
		w, err := New[profile](memory.New[profile](memory.Options{}))
		if err != nil {
			b.Fatal(err)
		}
		_ = w.Register("user:*", ModeStrongLocal, time.Hour)
		for i, k := range benchKeyNames {
			_ = w.Set(ctx, k, sampleProfile(i))
		}
		for range 2 {
			for _, k := range benchKeyNames {
				_, _ = w.Get(ctx, k)
			}
		}
		run("warp", func(k string) { _, _ = w.Get(ctx, k) })
		_ = w.Close()
	}
}

// writerOrders holds each parallel writer's key sequence. Each writer draws
// its keys from its own random stream. Writers that shared one sequence
// from random offsets could fall into step, one a key behind the other, so
// that every write raced another write of the same key: a contended
// benchmark of its own, and a different one from run to run.
var writerOrders = func() (o [8][]int) {
	for g := range o {
		o[g] = keyOrder(false, uint64(2+g))
	}
	return o
}()

// writeParallel runs set from b.RunParallel's writers, each on its own key
// sequence.
func writeParallel(b *testing.B, set func(string)) {
	var writers atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		order := writerOrders[(writers.Add(1)-1)%uint64(len(writerOrders))]
		i := 0
		for pb.Next() {
			set(benchKeyNames[order[i&(len(order)-1)]])
			i++
		}
	})
}

// writeBoth is BenchmarkSet's baseline: the two writes a Set protects, a
// memory store Set and a raw bigcache Set, in one operation.
func writeBoth(b *testing.B, val []byte) { writeParallel(b, bothWrites(b, val)) }

// bothWrites returns the two writes a Set protects as one operation, on a
// raw bigcache and a memory store of its own.
func bothWrites(b *testing.B, val []byte) func(string) {
	bc := rawBigcache(b, val)
	st := memory.New[[]byte](memory.Options{})
	return func(k string) {
		_, _ = st.Set(context.Background(), k, val, store.Write{})
		_ = bc.Set(k, val)
	}
}

// BenchmarkSet compares a StrongLocal Set with the work it protects: a raw
// bigcache Set plus an in-memory store Set, in the same run.
func BenchmarkSet(b *testing.B) {
	ctx := context.Background()
	val := make([]byte, 64)
	b.Run("bigcache", func(b *testing.B) {
		bc := rawBigcache(b, val)
		writeParallel(b, func(k string) { _ = bc.Set(k, val) })
	})
	b.Run("memstore", func(b *testing.B) {
		st := memory.New[[]byte](memory.Options{})
		writeParallel(b, func(k string) { _, _ = st.Set(ctx, k, val, store.Write{}) })
	})
	b.Run("bigcache+memstore", func(b *testing.B) { writeBoth(b, val) })
	b.Run("warp", func(b *testing.B) {
		w := benchWarp(b, val)
		writeParallel(b, func(k string) { _ = w.Set(ctx, k, val) })
	})
}

// BenchmarkFlush measures the repair flush a bus applies (every shard
// drops everything), which the bus actor waits for: on an empty node, a
// lightly filled one (entries deleted one by one) and a full one (reset).
func BenchmarkFlush(b *testing.B) {
	ctx := context.Background()
	val := make([]byte, 100)
	for _, n := range []int{0, 200, benchKeys} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			w, err := New[[]byte](memory.New[[]byte](memory.Options{}))
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			_ = w.Register("user:*", ModeStrongLocal, time.Hour)
			a := applier[[]byte]{w}
			for b.Loop() {
				b.StopTimer()
				for _, k := range benchKeyNames[:n] {
					_ = w.Set(ctx, k, val)
				}
				b.StartTimer()
				if err := a.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
