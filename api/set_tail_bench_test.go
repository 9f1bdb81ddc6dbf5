package api

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkSetOversubscribed measures the latency of parallel StrongLocal
// writes when more goroutines write than there are processors (two per
// processor, uniform keys), against the two writes a Set protects (a
// memory store Set and a raw bigcache Set) under the same load. It reports
// the p50, p99 and p999 of one write in nanoseconds; ns/op is the
// throughput of all writers together. docs/cache.md ("Waiting for an
// answer") reads the figures.
func BenchmarkSetOversubscribed(b *testing.B) {
	ctx := context.Background()
	val := make([]byte, 64)
	b.Run("bigcache+memstore", func(b *testing.B) { writeOversubscribed(b, bothWrites(b, val)) })
	b.Run("warp", func(b *testing.B) {
		w := benchWarp(b, val)
		writeOversubscribed(b, func(k string) { _ = w.Set(ctx, k, val) })
	})
}

// writeOversubscribed runs b.N writes from 2×GOMAXPROCS goroutines and
// reports the quantiles of their latencies.
func writeOversubscribed(b *testing.B, set func(string)) {
	workers := 2 * runtime.GOMAXPROCS(0)
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := range workers {
		n := b.N / workers
		if g < b.N%workers {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			out := make([]time.Duration, 0, n)
			for range n {
				k := benchKeyNames[r.IntN(len(benchKeyNames))]
				t0 := time.Now()
				set(k)
				out = append(out, time.Since(t0))
			}
			lat[g] = out
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Nanoseconds()) }
	b.ReportMetric(q(0.50), "p50-ns")
	b.ReportMetric(q(0.99), "p99-ns")
	b.ReportMetric(q(0.999), "p999-ns")
}
