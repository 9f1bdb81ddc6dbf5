package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// report is one target's result.
type report struct {
	Target     string  `json:"target"`
	Ops        int64   `json:"ops"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	ReadP50us  float64 `json:"read_p50_us"`
	ReadP99us  float64 `json:"read_p99_us"`
	ReadP999us float64 `json:"read_p999_us"`
	WriteP50us float64 `json:"write_p50_us"`
	WriteP99us float64 `json:"write_p99_us"`
	HitRatio   float64 `json:"hit_ratio"`
	AllocsOp   float64 `json:"allocs_per_op"`
	// HeapMiB is the heap in use after the run (and a GC), minus the heap
	// before the target was built: what the target holds. Payload is the
	// keys and values it was given; HeapX is HeapMiB / PayloadMiB.
	HeapMiB    float64 `json:"heap_in_use_mib"`
	PayloadMiB float64 `json:"payload_mib"`
	HeapX      float64 `json:"heap_over_payload"`
	GCPauseP99 float64 `json:"gc_pause_p99_us"`
	Errors     int64   `json:"errors"`
}

// runAll runs every single-node target in turn.
func runAll(cfg config, stderr io.Writer) ([]report, error) {
	pr := newProgress(stderr, cfg)
	keys := make([]string, cfg.Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("k:%09d", i)
	}
	var out []report
	for _, name := range strings.Split(cfg.Targets, ",") {
		runtime.GC()
		base := heapInUse()
		t, err := targets[name](cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r, err := drive(cfg, name, t, keys, pr, base)
		t.close()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		runtime.GC()
	}
	return out, nil
}

// drive preloads every key, then runs cfg.Concurrency workers for
// cfg.Duration (and at most cfg.MaxOps operations).
func drive(cfg config, name string, t *target, keys []string, pr *progress, baseHeap float64) (report, error) {
	val := make([]byte, cfg.ValueSize)
	for _, k := range keys {
		if err := t.set(k, val); err != nil {
			return report{}, fmt.Errorf("%s: preload: %w", name, err)
		}
	}
	var ops, hits, reads, errs atomic.Int64
	var mu sync.Mutex
	rh := hdrhistogram.New(1, int64(10*time.Second), 3)
	wh := hdrhistogram.New(1, int64(10*time.Second), 3)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	pause0 := gcPauses()
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
				if i&255 == 0 && (time.Now().After(deadline) || ops.Load() >= int64(cfg.MaxOps)) {
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
	us := func(h *hdrhistogram.Histogram, q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1e3 }
	rep := report{
		Target: name, Ops: n, OpsPerSec: float64(n) / elapsed.Seconds(),
		ReadP50us: us(rh, 50), ReadP99us: us(rh, 99), ReadP999us: us(rh, 99.9),
		WriteP50us: us(wh, 50), WriteP99us: us(wh, 99),
		AllocsOp: float64(ms1.Mallocs-ms0.Mallocs) / float64(max(n, 1)),
		HeapMiB:  heap, PayloadMiB: float64(payload) / (1 << 20), HeapX: heap / (float64(payload) / (1 << 20)),
		GCPauseP99: pauses * 1e6,
		Errors:     errs.Load(),
	}
	if r := reads.Load(); r > 0 {
		rep.HitRatio = float64(hits.Load()) / float64(r)
	}
	return rep, nil
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
