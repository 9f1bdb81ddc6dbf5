package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/merge"
)

// modeReport is one mode's result on a cluster. A figure without
// samples is nil: null in JSON, "n/a" in the text, empty in CSV.
type modeReport struct {
	Mode         string  `json:"mode"`
	Nodes        int     `json:"nodes"`
	Quorum       int     `json:"quorum,omitempty"`
	TargetRate   float64 `json:"target_rate,omitempty"`
	Ops          int64   `json:"ops"`
	Reads        int64   `json:"reads"`
	Writes       int64   `json:"writes"`
	OpsPerSec    float64 `json:"ops_per_sec"`
	WritesPerSec float64 `json:"writes_per_sec"`
	ReadP50us    figure  `json:"read_p50_us"`
	ReadP99us    figure  `json:"read_p99_us"`
	WriteP50us   figure  `json:"write_p50_us"`
	WriteP99us   figure  `json:"write_p99_us"`
	WriteP999us  figure  `json:"write_p999_us"`
	// L1HitRatio is the share of this process's nodes' reads that L1
	// served, from the nodes' own counters (see nodeReport).
	L1HitRatio  figure `json:"l1_hit_ratio"`
	ProbeWrites int64  `json:"probe_writes"`
	// ProbeReaders is how many of this process's nodes polled the probe
	// key; without one, lag, unseen and stale reads are n/a.
	ProbeReaders int   `json:"probe_readers"`
	LagSamples   int64 `json:"lag_samples"`
	// LagSource says what a lag sample measures: "apply" (publish→apply,
	// from the reader nodes' invalidation listeners) or "first-read" (until
	// a polling reader first saw the value; another process's writer).
	LagSource string `json:"lag_source,omitempty"`
	LagP50us  figure `json:"lag_p50_us"`
	LagP99us  figure `json:"lag_p99_us"`
	LagMaxus  figure `json:"lag_max_us"`
	// BeforeReturn counts the lag samples whose write was applied on the
	// reader node before its Set returned (their lag counts as 0): all of
	// them in strong mode, whose Set waits for the peers.
	BeforeReturn  count  `json:"applied_before_return"`
	Unseen        count  `json:"unseen"`
	ProbeReads    int64  `json:"probe_reads"`
	StaleReads    count  `json:"stale_reads"`
	StaleExpected string `json:"stale_reads_expected"`
	Errors        int64  `json:"errors"`
	FirstError    string `json:"first_error,omitempty"`
	BusPublished  uint64 `json:"bus_published"`
	BusApplied    uint64 `json:"bus_applied"`
	BusRepairs    uint64 `json:"bus_repairs"`
	BusGaps       uint64 `json:"bus_gaps"`
	BusOverflows  uint64 `json:"bus_overflows"`
	// PerNode is every local node's coherence over the phase.
	PerNode []nodeReport `json:"per_node"`
}

// staleExpected says what the staleness checker should find in each mode.
var staleExpected = map[string]string{
	"strong-local": "many: strong-local does not propagate writes to other nodes (by design)",
	"eventual":     "some: bounded by the invalidation lag",
	"strong":       "0: guaranteed (a write returns only when no node serves the old value)",
}

// phase is one mode's run: its load workers, probe and counters.
type phase struct {
	c        *cluster
	mode     string
	keys     []string
	start    time.Time
	deadline time.Time
	end      time.Time // when the load workers returned
	tl       *timeline
	halt     atomic.Bool // set on SIGINT or SIGTERM: the workers stop

	ops, reads, writes, errs atomic.Int64
	mu                       sync.Mutex // guards rh, wh and firstErr
	rh, wh                   *hdrhistogram.Histogram
	firstErr                 error
}

// runMode runs one mode: registration, preload (by the leader), closed-
// loop or rate-driven load on every local node plus the staleness probe
// and the coherence sampler.
func (c *cluster) runMode(ctx context.Context, mode string, runStart time.Time, pr *progress, co *coord, leader bool) (modeReport, []point, error) {
	if err := c.register(mode); err != nil {
		return modeReport{}, nil, fmt.Errorf("%s: %w", mode, err)
	}
	prefix := modePrefix[mode]
	keys := make([]string, c.cfg.Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sk:%09d", prefix, i)
	}
	pr.note("%s: %d nodes, %v", mode, c.total, c.cfg.Duration)
	if leader {
		if err := c.preload(ctx, mode, keys, prefix+"probe", pr); err != nil {
			return modeReport{}, nil, err
		}
	}
	if co != nil {
		if _, err := co.barrier(ctx, "start."+mode, c.cfg.JoinTimeout); err != nil {
			return modeReport{}, nil, err
		}
	}
	before := c.busStats()
	ph := &phase{c: c, mode: mode, keys: keys, start: time.Now(), rh: newHist(), wh: newHist()}
	ph.deadline = ph.start.Add(c.cfg.Duration)
	ph.tl = newTimeline(mode, runStart, ph.start, c.cfg.Duration)
	p := ph.newProbe(prefix+"probe", co != nil)
	stopHalt := context.AfterFunc(ctx, func() { ph.halt.Store(true); p.stop.Store(true) })
	defer stopHalt()
	if co != nil {
		co.probe.Store(p)
	}
	c.probe.Store(p)
	smp := startSampler(c.nodes, c.counters, ph.tl)
	stopTicker := pr.tick(mode, ph)
	probeWrites, readers, readerNodes := ph.runProbe(p, co, leader)
	ph.runLoad()
	p.stop.Store(true)
	pw, rs := <-probeWrites, <-readers
	stopTicker()
	perNode, perSec := smp.finish(c.ids, c.counters)
	if ctx.Err() != nil {
		return modeReport{}, nil, errInterrupted
	}
	if co != nil {
		if _, err := co.barrier(ctx, "end."+mode, c.cfg.JoinTimeout); err != nil {
			return modeReport{}, nil, err
		}
	}
	if mode != "strong-local" { // it publishes nothing: there is nothing to wait for
		p.settle(readerNodes, time.Second)
	}
	c.probe.Store(nil)
	pres := p.results(rs, readerNodes)
	rep := ph.report(pres, pw, c.busStats(), before, p, perNode)
	observePhase(rep)
	return rep, ph.tl.finish(pres.samples, perSec, pres.stalePerSec(ph.tl, p.base)), nil
}

// preload writes the mode's keys to the store, with a progress line each
// second.
func (c *cluster) preload(ctx context.Context, mode string, keys []string, probeKey string, pr *progress) error {
	var done atomic.Int64
	start := time.Now()
	stop := pr.watch(func(el time.Duration) string {
		return fmt.Sprintf("%s: preloading %s: %d/%d keys (%v)", mode, c.store.where, done.Load(), len(keys), el)
	})
	err := preload(ctx, c.store.s, keys, probeKey, c.cfg.ValueSize, &done)
	stop()
	switch {
	case ctx.Err() != nil:
		return errInterrupted
	case err != nil:
		return fmt.Errorf("%s: %w", mode, err)
	}
	pr.printf("  %s: preloaded %d keys in %v", mode, len(keys), time.Since(start).Round(time.Millisecond))
	return nil
}

// newProbe builds the phase's probe; across processes its clock is the
// host's wall clock, which every process on the host shares.
func (ph *phase) newProbe(key string, multi bool) *probe {
	cfg := ph.c.cfg
	capacity := int(min(int64(cfg.Duration/cfg.ProbeInterval)+2, 1<<20))
	start := ph.start
	clock, base := func() int64 { return int64(time.Since(start)) }, int64(0)
	if multi {
		clock, base = func() int64 { return time.Now().UnixNano() }, start.UnixNano()
	}
	return newProbe(key, clock, base, cfg.ValueSize, capacity, len(ph.c.nodes))
}

// runProbe starts the probe writer (on the leader's first node) and a
// reader on every other local node; the channels deliver their results,
// and readerNodes lists the readers' indexes among the local nodes.
func (ph *phase) runProbe(p *probe, co *coord, leader bool) (_ <-chan int64, _ <-chan []*reader, readerNodes []int) {
	nodes := ph.c.nodes
	writes, readers := make(chan int64, 1), make(chan []*reader, 1)
	var onReturn func(s, t int64)
	if co != nil {
		onReturn = co.publishReturn
	}
	first := 0
	if leader {
		writer := nodes[0]
		version := func() (merge.Version, error) { return ph.c.store.s.Version(context.Background(), p.key) }
		go func() { writes <- p.write(writer, ph.c.cfg.ProbeInterval, ph.deadline, onReturn, version) }()
		nodes, first = nodes[1:], 1
	} else {
		writes <- 0
	}
	for i := range nodes {
		readerNodes = append(readerNodes, first+i)
	}
	go func() {
		out := make([]*reader, len(nodes))
		var wg sync.WaitGroup
		for i, w := range nodes {
			wg.Go(func() { out[i] = p.read(w, ph.deadline, ph.c.cfg.ProbeSpin) })
		}
		wg.Wait()
		readers <- out
	}()
	return writes, readers, readerNodes
}

// runLoad runs the load workers until the deadline or -max-ops, and
// notes when they returned.
func (ph *phase) runLoad() {
	var wg sync.WaitGroup
	for w := range ph.c.cfg.Concurrency {
		wg.Go(func() { ph.worker(w) })
	}
	wg.Wait()
	ph.end = time.Now()
}

func (ph *phase) worker(w int) {
	cfg := ph.c.cfg
	node := ph.c.nodes[w%len(ph.c.nodes)]
	ctx := context.Background()
	r := rand.New(rand.NewPCG(uint64(w), 7))
	zipf := rand.NewZipf(r, 1.1, 1, uint64(len(ph.keys)-1))
	lr, lw := newHist(), newHist()
	rec := newSecRec(ph.tl, func(n int64) { benchOps.WithLabelValues(ph.mode).Add(float64(n)) })
	val := make([]byte, cfg.ValueSize) // never modified: the store may keep it
	var pace *pacer
	if cfg.Rate > 0 {
		pace = newPacer(cfg.Rate / float64(cfg.Concurrency))
	}
	for i := 0; ; i++ {
		if i&63 == 0 && (ph.halt.Load() || time.Now().After(ph.deadline) || ph.ops.Load() >= int64(cfg.MaxOps)) {
			break
		}
		if pace != nil && !pace.wait(ph.deadline) {
			break
		}
		k := ph.keys[r.IntN(len(ph.keys))]
		if cfg.Dist == "zipf" {
			k = ph.keys[zipf.Uint64()]
		}
		start := time.Now()
		if pace == nil && r.Float64() < cfg.ReadRatio {
			_, err := node.Get(ctx, k)
			end := time.Now()
			record(lr, int64(end.Sub(start)))
			rec.op(end, -1)
			ph.reads.Add(1)
			if err != nil && !errors.Is(err, api.ErrNotFound) {
				ph.fail(err)
			}
		} else {
			err := node.Set(ctx, k, val)
			end := time.Now()
			lat := int64(end.Sub(start))
			record(lw, lat)
			rec.op(end, lat)
			ph.writes.Add(1)
			if err != nil {
				ph.fail(err)
			}
		}
		ph.ops.Add(1)
	}
	rec.done()
	ph.mu.Lock()
	ph.rh.Merge(lr)
	ph.wh.Merge(lw)
	ph.mu.Unlock()
}

func (ph *phase) fail(err error) {
	ph.errs.Add(1)
	ph.mu.Lock()
	if ph.firstErr == nil {
		ph.firstErr = err
	}
	ph.mu.Unlock()
}
