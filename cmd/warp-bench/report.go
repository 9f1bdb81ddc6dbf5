package main

import (
	"time"

	"github.com/warpcache/warp/bus"
)

// report builds the mode's report from the load's histograms, the probe's
// results and the bus counters' change.
func (ph *phase) report(pres probeResult, probeWrites int64, after, before bus.Stats, p *probe) modeReport {
	cfg := ph.c.cfg
	el := min(time.Since(ph.start), cfg.Duration+time.Second).Seconds()
	ops, writes := ph.ops.Load(), ph.writes.Load()
	rep := modeReport{
		Mode: ph.mode, Nodes: ph.c.total, TargetRate: cfg.Rate,
		Ops: ops, Reads: ph.reads.Load(), Writes: writes,
		OpsPerSec: float64(ops) / el, WritesPerSec: float64(writes) / el,
		ReadP50us: us(ph.rh, 50), ReadP99us: us(ph.rh, 99),
		WriteP50us: us(ph.wh, 50), WriteP99us: us(ph.wh, 99), WriteP999us: us(ph.wh, 99.9),
		ProbeWrites: max(probeWrites, pres.writesSeen),
		LagSamples:  pres.lag.TotalCount(), LagP50us: us(pres.lag, 50), LagP99us: us(pres.lag, 99),
		BeforeReturn: pres.early,
		Unseen:       pres.unseen, ProbeReads: pres.reads, StaleReads: pres.stale,
		StaleExpected: staleExpected[ph.mode],
		Errors:        ph.errs.Load() + p.errs.Load(),
		BusPublished:  after.Published - before.Published, BusApplied: after.Applied - before.Applied,
		BusRepairs: after.Repairs - before.Repairs, BusGaps: after.Gaps - before.Gaps,
		BusOverflows: after.Overflows - before.Overflows,
	}
	if pres.lag.TotalCount() > 0 {
		rep.LagMaxus = float64(pres.lag.Max()) / 1e3
	}
	rep.LagSource = "first-read"
	if pres.applied {
		rep.LagSource = "apply"
	}
	if ph.mode == "strong" {
		rep.Quorum = ph.c.total - 1
	}
	if r := rep.Reads; r > 0 {
		rep.HitRatio = float64(ph.hits.Load()) / float64(r)
	}
	if err := ph.firstErr; err != nil {
		rep.FirstError = err.Error()
	} else if err := p.firstErr; err != nil {
		rep.FirstError = "probe: " + err.Error()
	}
	return rep
}

// ratios are the run's figures relative to the baselines of the same run.
func ratios(res result) map[string]float64 {
	by := map[string]modeReport{}
	for _, m := range res.Modes {
		by[m.Mode] = m
	}
	out := map[string]float64{}
	if s, ok := by["strong"]; ok && res.Baseline != nil && res.Baseline.P50us > 0 {
		out["strong_set_p50_over_raw_rtt_p50"] = s.WriteP50us / res.Baseline.P50us
		out["strong_set_p99_over_raw_rtt_p99"] = s.WriteP99us / res.Baseline.P99us
	}
	if e, ok := by["eventual"]; ok {
		if l, ok := by["strong-local"]; ok && l.WriteP50us > 0 {
			out["eventual_set_p50_over_strong_local_set_p50"] = e.WriteP50us / l.WriteP50us
		}
		if res.Baseline != nil && res.Baseline.P50us > 0 && e.LagSamples > 0 {
			out["eventual_lag_p50_over_raw_rtt_p50"] = e.LagP50us / res.Baseline.P50us
		}
	}
	return out
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
