package main

import (
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// maxLatency is the largest latency a histogram records; larger values are
// clamped to it.
const maxLatency = int64(10 * time.Second)

// newHist returns a histogram of nanoseconds with 3 significant digits.
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, maxLatency, 3) }

// newSecHist returns the coarser (2 digits, 28 KiB) histogram of one second.
func newSecHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, maxLatency, 2) }

func record(h *hdrhistogram.Histogram, ns int64) {
	_ = h.RecordValue(min(max(ns, 1), maxLatency))
}

func us(h *hdrhistogram.Histogram, q float64) float64 {
	if h.TotalCount() == 0 {
		return 0
	}
	return float64(h.ValueAtQuantile(q)) / 1e3
}

// point is one second of one phase.
type point struct {
	Phase      string  `json:"phase"`
	T          float64 `json:"t_s"` // end of the second, from the start of the run
	Ops        int64   `json:"ops"`
	WriteP50us float64 `json:"write_p50_us"`
	WriteP99us float64 `json:"write_p99_us"`
	LagP50us   float64 `json:"lag_p50_us"`
	LagP99us   float64 `json:"lag_p99_us"`
	LagSamples int     `json:"lag_samples"`
}

// timeline collects one phase's per-second figures. Workers hand it their
// second's histogram when they cross into the next second; the phase's
// ticker finalizes seconds that every worker has left, so only a few
// seconds' histograms are alive at once.
type timeline struct {
	phase  string
	start  time.Time
	offset float64 // seconds from the start of the run to start

	mu     sync.Mutex // guards secs, done and points
	secs   map[int]*second
	done   int // seconds below done are finalized
	points []point
}

type second struct {
	ops   int64
	write *hdrhistogram.Histogram
}

func newTimeline(phase string, runStart, start time.Time) *timeline {
	return &timeline{phase: phase, start: start, offset: start.Sub(runStart).Seconds(), secs: map[int]*second{}}
}

func (tl *timeline) sec(t time.Time) int { return int(t.Sub(tl.start) / time.Second) }

// add merges one worker's second s; too late for a finalized second, it
// is dropped (the phase's totals still have it).
func (tl *timeline) add(s int, ops int64, write *hdrhistogram.Histogram) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if s < tl.done {
		return
	}
	sc := tl.secs[s]
	if sc == nil {
		sc = &second{write: newSecHist()}
		tl.secs[s] = sc
	}
	sc.ops += ops
	sc.write.Merge(write)
}

// finalize turns the seconds below upTo into points.
func (tl *timeline) finalize(upTo int) []point {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var secs []int
	for s := range tl.secs {
		if s < upTo {
			secs = append(secs, s)
		}
	}
	slices.Sort(secs)
	var out []point
	for _, s := range secs {
		sc := tl.secs[s]
		p := point{Phase: tl.phase, T: tl.offset + float64(s+1), Ops: sc.ops,
			WriteP50us: us(sc.write, 50), WriteP99us: us(sc.write, 99)}
		tl.points = append(tl.points, p)
		out = append(out, p)
		delete(tl.secs, s)
	}
	tl.done = max(tl.done, upTo)
	return out
}

// lagSample is one probe observation: when (ns from the phase start) and
// how late (ns).
type lagSample struct{ at, lag int64 }

// finish finalizes every second and adds the lag percentiles per second.
func (tl *timeline) finish(lags []lagSample) []point {
	tl.finalize(1 << 30)
	bySec := map[int][]int64{}
	for _, l := range lags {
		s := int(l.at / int64(time.Second))
		bySec[s] = append(bySec[s], l.lag)
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	idx := map[int]int{}
	for i, p := range tl.points {
		idx[int(p.T-tl.offset)-1] = i
	}
	for s, v := range bySec {
		i, ok := idx[s]
		if !ok {
			tl.points = append(tl.points, point{Phase: tl.phase, T: tl.offset + float64(s+1)})
			i = len(tl.points) - 1
		}
		slices.Sort(v)
		p := &tl.points[i]
		p.LagP50us, p.LagP99us = float64(quantile(v, 0.50))/1e3, float64(quantile(v, 0.99))/1e3
		p.LagSamples = len(v)
	}
	slices.SortFunc(tl.points, func(a, b point) int { return int((a.T - b.T) * 1e3) })
	return tl.points
}

// quantile of sorted v (nearest rank).
func quantile(v []int64, q float64) int64 {
	if len(v) == 0 {
		return 0
	}
	i := int(q*float64(len(v))+0.5) - 1
	return v[min(max(i, 0), len(v)-1)]
}

// secRec is one worker's recorder: its second's ops and write latencies,
// handed to the timeline when the second changes.
type secRec struct {
	tl    *timeline
	sec   int
	ops   int64
	write *hdrhistogram.Histogram
	flush func(ops int64) // metrics hook, may be nil
}

func newSecRec(tl *timeline, flush func(int64)) *secRec {
	return &secRec{tl: tl, write: newSecHist(), flush: flush}
}

// op records one operation that ended at now; lat < 0 is not a write.
func (r *secRec) op(now time.Time, lat int64) {
	if s := r.tl.sec(now); s != r.sec {
		r.done()
		r.sec = s
	}
	r.ops++
	if lat >= 0 {
		record(r.write, lat)
	}
}

// done hands the current second to the timeline.
func (r *secRec) done() {
	if r.ops == 0 {
		return
	}
	r.tl.add(r.sec, r.ops, r.write)
	if r.flush != nil {
		r.flush(r.ops)
	}
	r.ops = 0
	r.write.Reset()
}
