package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/store/nop"
)

// BenchmarkMemory1M holds 1M entries of 100-byte values in L1 (a store
// that keeps nothing, so only Warp's memory is measured) and churns them
// (90% reads, 10% overwrites) for a few seconds. It reports, from
// runtime/metrics: heap in use after loading, as MiB and as a multiple of
// the payload (keys + values); GC pauses during the churn (p99); the hit
// ratio during the churn. Run: go test -run '^$' -bench Memory1M ./api/
func BenchmarkMemory1M(b *testing.B) {
	for _, bound := range []int{160, 256} {
		b.Run(fmt.Sprintf("bound=%dMiB", bound), func(b *testing.B) {
			for range b.N {
				memory1M(b, bound)
			}
		})
	}
}

func memory1M(b *testing.B, boundMiB int) {
	const n, valueSize = 1_000_000, 100
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k:%07d", i)
	}
	payload := float64(n*(len(keys[0])+valueSize)) / (1 << 20)
	runtime.GC()
	base := heapMiB()
	w, err := New[[]byte](&nop.Store[[]byte]{}, WithMaxBytes[[]byte](boundMiB<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	_ = w.Register("k:*", ModeStrongLocal, time.Hour)
	ctx := context.Background()
	val := make([]byte, valueSize)
	for _, k := range keys {
		_ = w.Set(ctx, k, val)
	}
	runtime.GC()
	loaded := heapMiB() - base
	p0 := gcPauses()
	var hits, reads atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(3 * time.Second)
	for g := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := 0; i < 50_000_000 && time.Now().Before(deadline); i++ {
				k := keys[r.IntN(n)]
				if i%10 == 0 {
					_ = w.Set(ctx, k, val)
					continue
				}
				reads.Add(1)
				if _, err := w.Get(ctx, k); err == nil {
					hits.Add(1)
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(loaded, "heap-MiB")
	b.ReportMetric(loaded/payload, "x-payload")
	b.ReportMetric(pauseP99(p0, gcPauses())*1e6, "gc-p99-µs")
	b.ReportMetric(float64(hits.Load())/float64(max(reads.Load(), 1)), "hit-ratio")
}

func heapMiB() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64()) / (1 << 20)
}

func gcPauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// pauseP99 is the 99th percentile (bucket upper bound, seconds) of the GC
// pauses between two readings; 0 if there were none.
func pauseP99(a, b *metrics.Float64Histogram) float64 {
	var total, seen uint64
	for i := range b.Counts {
		total += b.Counts[i] - a.Counts[i]
	}
	for i := range b.Counts {
		if seen += b.Counts[i] - a.Counts[i]; total > 0 && float64(seen) >= 0.99*float64(total) {
			return b.Buckets[i+1]
		}
	}
	return 0
}
