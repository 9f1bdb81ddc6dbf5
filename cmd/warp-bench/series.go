package main

import (
	"cmp"
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

// record records ns, clamped to [0, maxLatency] (a lag of 0: applied
// before the write returned).
func record(h *hdrhistogram.Histogram, ns int64) {
	_ = h.RecordValue(min(max(ns, 0), maxLatency))
}

// point is one second of one phase (the last one may be shorter: a
// phase's points never reach past its end). A figure without samples is
// nil (null in JSON).
type point struct {
	Phase string `json:"phase"`
	// T0 and T are the start and the end of the second, in seconds from
	// the start of the run.
	T0         float64 `json:"t0_s"`
	T          float64 `json:"t_s"`
	Ops        int64   `json:"ops"`
	WriteP50us figure  `json:"write_p50_us"`
	WriteP99us figure  `json:"write_p99_us"`
	LagP50us   figure  `json:"lag_p50_us"`
	LagP99us   figure  `json:"lag_p99_us"`
	LagSamples int     `json:"lag_samples"`
	// StaleReads, Repairs and Gaps happened in this second; NoLeaseMs is
	// the node-milliseconds without a coherence lease (summed over this
	// process's nodes).
	StaleReads int64   `json:"stale_reads"`
	Repairs    uint64  `json:"repairs"`
	Gaps       uint64  `json:"gaps"`
	NoLeaseMs  float64 `json:"no_lease_ms"`
}

// secExtra is what a second adds to its point besides ops and latency.
type secExtra struct {
	staleReads    int64
	repairs, gaps uint64
	noLeaseMs     float64
}

// timeline collects one phase's per-second figures. Workers hand it their
// second's histogram when they cross into the next second; the phase's
// ticker finalizes seconds that every worker has left, so only a few
// seconds' histograms are alive at once.
type timeline struct {
	phase  string
	start  time.Time
	offset float64 // seconds from the start of the run to start
	length float64 // the phase's length in seconds
	last   int     // the phase's last second: later events count in it

	mu     sync.Mutex // guards secs, done and points
	secs   map[int]*second
	done   int // seconds below done are finalized
	points []point
}

type second struct {
	ops   int64
	write *hdrhistogram.Histogram
}

func newTimeline(phase string, runStart, start time.Time, length time.Duration) *timeline {
	last := int((length+time.Second-1)/time.Second) - 1
	return &timeline{phase: phase, start: start, offset: start.Sub(runStart).Seconds(), length: length.Seconds(),
		last: max(last, 0), secs: map[int]*second{}}
}

// sec is the second of the phase t falls in; an operation that ends after
// the phase's end (a worker notices the deadline every few operations)
// counts in the last second, so no point reaches into the next phase.
func (tl *timeline) sec(t time.Time) int { return tl.secOf(int64(t.Sub(tl.start))) }

// secOf is sec for ns since the phase start.
func (tl *timeline) secOf(ns int64) int { return min(max(int(ns/int64(time.Second)), 0), tl.last) }

// span returns the start and end of second s, from the run's start.
func (tl *timeline) span(s int) (t0, t1 float64) {
	return tl.offset + float64(s), tl.offset + min(float64(s+1), tl.length)
}

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
		p := point{Phase: tl.phase, Ops: sc.ops, WriteP50us: quantileOf(sc.write, 50), WriteP99us: quantileOf(sc.write, 99)}
		p.T0, p.T = tl.span(s)
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

// finish finalizes every second, adds the lag percentiles and the extra
// figures per second, and returns the phase's points in time order.
func (tl *timeline) finish(lags []lagSample, extras ...map[int]*secExtra) []point {
	tl.finalize(1 << 30)
	bySec := map[int][]int64{}
	for _, l := range lags {
		s := tl.secOf(l.at)
		bySec[s] = append(bySec[s], l.lag)
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	idx := map[int]int{}
	for i, p := range tl.points {
		idx[int(p.T0-tl.offset+0.5)] = i
	}
	at := func(s int) *point {
		i, ok := idx[s]
		if !ok {
			p := point{Phase: tl.phase}
			p.T0, p.T = tl.span(s)
			tl.points = append(tl.points, p)
			i = len(tl.points) - 1
			idx[s] = i
		}
		return &tl.points[i]
	}
	for s, v := range bySec {
		slices.Sort(v)
		p := at(s)
		p.LagP50us, p.LagP99us = some(float64(quantile(v, 0.50))/1e3), some(float64(quantile(v, 0.99))/1e3)
		p.LagSamples = len(v)
	}
	for _, ex := range extras {
		for s, e := range ex {
			p := at(min(max(s, 0), tl.last))
			p.StaleReads += e.staleReads
			p.Repairs += e.repairs
			p.Gaps += e.gaps
			p.NoLeaseMs += e.noLeaseMs
		}
	}
	slices.SortFunc(tl.points, func(a, b point) int { return cmp.Compare(a.T0, b.T0) })
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
