package main

import (
	"time"

	"github.com/warpcache/warp/bus"
)

// report builds the mode's report from the load's histograms, the probe's
// results, the bus counters' change and the nodes' coherence.
func (ph *phase) report(pres probeResult, probeWrites int64, after, before bus.Stats, p *probe, perNode []nodeReport) modeReport {
	cfg := ph.c.cfg
	el := ph.end.Sub(ph.start).Seconds() // the load's time, not the settling and barriers after it
	ops, writes := ph.ops.Load(), ph.writes.Load()
	observed := pres.readers > 0
	rep := modeReport{
		Mode: ph.mode, Nodes: ph.c.total, TargetRate: cfg.Rate,
		Ops: ops, Reads: ph.reads.Load(), Writes: writes,
		OpsPerSec: float64(ops) / el, WritesPerSec: float64(writes) / el,
		ReadP50us: quantileOf(ph.rh, 50), ReadP99us: quantileOf(ph.rh, 99),
		WriteP50us: quantileOf(ph.wh, 50), WriteP99us: quantileOf(ph.wh, 99), WriteP999us: quantileOf(ph.wh, 99.9),
		ProbeWrites:  max(probeWrites, pres.writesSeen),
		ProbeReaders: pres.readers,
		LagSamples:   pres.lag.TotalCount(), LagP50us: quantileOf(pres.lag, 50), LagP99us: quantileOf(pres.lag, 99),
		LagMaxus:     maxOf(pres.lag),
		BeforeReturn: countIf(pres.early, pres.lag.TotalCount() > 0),
		Unseen:       countIf(pres.unseen, observed && pres.writesSeen > 0),
		ProbeReads:   pres.reads, StaleReads: countIf(pres.stale, observed && pres.reads > 0),
		StaleExpected: staleExpected[ph.mode],
		Errors:        ph.errs.Load() + p.errs.Load(),
		BusPublished:  after.Published - before.Published, BusApplied: after.Applied - before.Applied,
		BusRepairs: after.Repairs - before.Repairs, BusGaps: after.Gaps - before.Gaps,
		BusOverflows: after.Overflows - before.Overflows,
		PerNode:      perNode,
	}
	if rep.LagSamples > 0 {
		rep.LagSource = "first-read"
		if pres.applied {
			rep.LagSource = "apply"
		}
	}
	if ph.mode == "strong" {
		rep.Quorum = ph.c.total - 1
	}
	var reads, hits int64
	for _, n := range perNode {
		if n.Reads != nil {
			reads, hits = reads+*n.Reads, hits+*n.L1Hits
		}
	}
	rep.L1HitRatio = fractionOf(hits, reads)
	if err := ph.firstErr; err != nil {
		rep.FirstError = err.Error()
	} else if err := p.firstErr; err != nil {
		rep.FirstError = "probe: " + err.Error()
	}
	return rep
}

// pacer is a token bucket: one token per interval, at most burst's worth
// saved up, so a worker that fell behind catches up in a short burst and
// never in a flood.
type pacer struct {
	interval time.Duration
	burst    time.Duration
	next     time.Time
}

func newPacer(perSec float64) *pacer {
	iv := time.Duration(float64(time.Second) / perSec)
	return &pacer{interval: iv, burst: max(iv, 10*time.Millisecond), next: time.Now()}
}

// wait takes a token, sleeping until one is due; false if none is due
// before deadline.
func (p *pacer) wait(deadline time.Time) bool {
	now := time.Now()
	if p.next.Before(now.Add(-p.burst)) {
		p.next = now.Add(-p.burst) // drop tokens beyond the burst
	}
	if p.next.After(deadline) {
		return false
	}
	if d := p.next.Sub(now); d > 0 {
		time.Sleep(d) // pacing an open-loop load, not waiting for async work
	}
	p.next = p.next.Add(p.interval)
	return true
}
