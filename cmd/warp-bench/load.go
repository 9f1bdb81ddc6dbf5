package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// report is one target's result. A figure without samples is nil.
type report struct {
	Target     string  `json:"target"`
	Ops        int64   `json:"ops"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	ReadP50us  figure  `json:"read_p50_us"`
	ReadP99us  figure  `json:"read_p99_us"`
	ReadP999us figure  `json:"read_p999_us"`
	WriteP50us figure  `json:"write_p50_us"`
	WriteP99us figure  `json:"write_p99_us"`
	// L1HitRatio is the share of reads the cache served itself: Warp's
	// from its own counters (a miss reads the store), the others' found
	// keys (they are the whole cache).
	L1HitRatio figure  `json:"l1_hit_ratio"`
	AllocsOp   float64 `json:"allocs_per_op"`
	// HeapMiB is the heap in use after the run (and a GC), minus the heap
	// before the target was built: what the target holds. Payload is the
	// keys and values it was given; HeapX is HeapMiB / PayloadMiB.
	HeapMiB    float64 `json:"heap_in_use_mib"`
	PayloadMiB float64 `json:"payload_mib"`
	HeapX      float64 `json:"heap_over_payload"`
	// GCPauseP99 is nil when no GC paused the run.
	GCPauseP99 figure `json:"gc_pause_p99_us"`
	Errors     int64  `json:"errors"`
}

// runAll runs every single-node target in turn.
func runAll(ctx context.Context, cfg config, pr *progress) (result, error) {
	keys := make([]string, cfg.Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("k:%09d", i)
	}
	var res result
	for _, name := range strings.Split(cfg.Targets, ",") {
		pr.note("%s: %d workers, %v", name, cfg.Concurrency, cfg.Duration)
		runtime.GC()
		base := heapInUse()
		t, err := targets[name](ctx, cfg, pr)
		if err != nil {
			return res, interrupted(ctx, fmt.Errorf("%s: %w", name, err))
		}
		r, err := drive(ctx, cfg, name, t, keys, pr, base)
		if cerr := t.close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: cleanup: %w", name, cerr)
		}
		if err != nil {
			return res, interrupted(ctx, err)
		}
		res.Results = append(res.Results, r)
		runtime.GC()
	}
	return res, nil
}

// drive preloads every key, then runs cfg.Concurrency workers for
// cfg.Duration (and at most cfg.MaxOps operations).
func drive(ctx context.Context, cfg config, name string, t *target, keys []string, pr *progress, baseHeap float64) (report, error) {
	if err := preloadTarget(ctx, name, t, keys, cfg.ValueSize, pr); err != nil {
		return report{}, err
	}
	val := make([]byte, cfg.ValueSize)
	var ops, hits, reads, errs atomic.Int64
	var halt atomic.Bool
	stopHalt := context.AfterFunc(ctx, func() { halt.Store(true) })
	defer stopHalt()
	var mu sync.Mutex
	rh := hdrhistogram.New(1, int64(10*time.Second), 3)
	wh := hdrhistogram.New(1, int64(10*time.Second), 3)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	pause0 := gcPauses()
	var l1Reads0, l1Hits0 int64
	if t.l1 != nil {
		l1Reads0, l1Hits0, _ = t.l1()
	}
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	stop := pr.tickOps(name, ops.Load)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			zipf := rand.NewZipf(r, 1.1, 1, uint64(len(keys)-1))
			lr := hdrhistogram.New(1, int64(10*time.Second), 3)
			lw := hdrhistogram.New(1, int64(10*time.Second), 3)
			for i := 0; ; i++ {
				if i&255 == 0 && (halt.Load() || time.Now().After(deadline) || ops.Load() >= int64(cfg.MaxOps)) {
					break
				}
				k := keys[r.IntN(len(keys))]
				if cfg.Dist == "zipf" {
					k = keys[zipf.Uint64()]
				}
				start := time.Now()
				if r.Float64() < cfg.ReadRatio {
					hit, err := t.get(k)
					_ = lr.RecordValue(int64(time.Since(start)))
					reads.Add(1)
					if hit {
						hits.Add(1)
					}
					if err != nil {
						errs.Add(1)
					}
				} else {
					if err := t.set(k, val); err != nil {
						errs.Add(1)
					}
					_ = lw.RecordValue(int64(time.Since(start)))
				}
				ops.Add(1)
			}
			mu.Lock()
			rh.Merge(lr)
			wh.Merge(lw)
			mu.Unlock()
		})
	}
	wg.Wait()
	stop()
	if ctx.Err() != nil {
		return report{}, errInterrupted
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms1)
	pauses := pauseP99(pause0, gcPauses())
	runtime.GC()
	heap := (heapInUse() - baseHeap) / (1 << 20)
	payload := 0
	for _, k := range keys {
		payload += len(k) + cfg.ValueSize
	}
	n := ops.Load()
	rep := report{
		Target: name, Ops: n, OpsPerSec: float64(n) / elapsed.Seconds(),
		ReadP50us: quantileOf(rh, 50), ReadP99us: quantileOf(rh, 99), ReadP999us: quantileOf(rh, 99.9),
		WriteP50us: quantileOf(wh, 50), WriteP99us: quantileOf(wh, 99),
		L1HitRatio: fractionOf(hits.Load(), reads.Load()),
		AllocsOp:   float64(ms1.Mallocs-ms0.Mallocs) / float64(max(n, 1)),
		HeapMiB:    heap, PayloadMiB: float64(payload) / (1 << 20), HeapX: heap / (float64(payload) / (1 << 20)),
		Errors: errs.Load(),
	}
	if pauses > 0 {
		rep.GCPauseP99 = some(pauses * 1e6)
	}
	if t.l1 != nil {
		r1, h1, ok := t.l1()
		rep.L1HitRatio = nil
		if ok {
			rep.L1HitRatio = fractionOf(h1-l1Hits0, r1-l1Reads0)
		}
	}
	return rep, nil
}

// preloadTarget sets every key, with a progress line each second.
func preloadTarget(ctx context.Context, name string, t *target, keys []string, size int, pr *progress) error {
	val := make([]byte, size)
	var done atomic.Int64
	stop := pr.watch(func(el time.Duration) string {
		return fmt.Sprintf("%s: preloading %d/%d keys (%v)", name, done.Load(), len(keys), el)
	})
	defer stop()
	for i, k := range keys {
		if i&1023 == 0 && ctx.Err() != nil {
			return errInterrupted
		}
		if err := t.set(k, val); err != nil {
			return fmt.Errorf("%s: preload: %w", name, err)
		}
		done.Add(1)
	}
	return nil
}

func heapInUse() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64())
}

func gcPauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// pauseP99 returns the 99th percentile of the GC pauses between two reads
// of the pause histogram, in seconds (bucket upper bound).
func pauseP99(a, b *metrics.Float64Histogram) float64 {
	var total uint64
	d := make([]uint64, len(b.Counts))
	for i := range b.Counts {
		d[i] = b.Counts[i] - a.Counts[i]
		total += d[i]
	}
	if total == 0 {
		return 0
	}
	var seen uint64
	for i, c := range d {
		seen += c
		if float64(seen) >= 0.99*float64(total) {
			return b.Buckets[i+1]
		}
	}
	return b.Buckets[len(b.Buckets)-1]
}
