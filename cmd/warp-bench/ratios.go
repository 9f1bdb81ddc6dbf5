package main

import "fmt"

// ratioResult is one figure of the run held against a target: a ratio to
// a baseline measured in the same run, or an absolute bound. Value is
// nil when a side had no samples; Met is nil without a value or a target.
type ratioResult struct {
	Name   string `json:"name"`
	Value  figure `json:"value"`
	Target figure `json:"target"` // the figure must stay ≤ Target; nil: reported only
	Met    *bool  `json:"met"`
	// Why says why Value is missing, or why it has no target.
	Why string `json:"why,omitempty"`
}

// The targets of docs/performance.md, the only place they are written in
// the code: the run holds its figures to them and -h lists them
// (TestTargetsMatchDocs checks the page says the same).
const (
	targetStrongSetP50OverRTT    = 2    // strong Set p50 / raw round trip p50
	targetEventualSetOverLocal   = 1.5  // eventual Set p50 / strong-local Set p50
	targetEventualLagP99us       = 1000 // eventual lag p99, µs
	targetStrongSetP99us         = 1000 // strong Set p99, µs
	targetStrongStaleReads       = 0    // strong stale reads
	targetReadP50OverBigcacheP50 = 1.25 // -nodes 1: warp read p50 / bigcache's (the Get-hit target)
)

// ratioDef defines one figure: how it is computed and its target, taken
// from docs/performance.md (nil: no target there, the figure is reported).
type ratioDef struct {
	name, what string
	target     figure
	value      func(res result) (figure, string)
	// memoryOnly: the target was set for the in-memory store (a write
	// includes the store's); with another store the figure is reported.
	memoryOnly bool
}

func (d ratioDef) eval(res result) ratioResult {
	v, why := d.value(res)
	r := ratioResult{Name: d.name, Value: v, Target: d.target}
	if d.memoryOnly && d.target != nil && res.Config.Store != "memory" && v != nil {
		r.Target = nil
		why = fmt.Sprintf("its target, ≤ %g, is for -store memory: a write here waits for the %s server", *d.target, res.Config.Store)
	}
	if v == nil && why == "" {
		why = "no samples"
	}
	r.Why = why
	if v != nil && r.Target != nil {
		met := *v <= *r.Target
		r.Met = &met
	}
	return r
}

// mode returns the report of mode m, if it ran.
func (res result) mode(m string) *modeReport {
	for i := range res.Modes {
		if res.Modes[i].Mode == m {
			return &res.Modes[i]
		}
	}
	return nil
}

// field reads a figure of mode m, or says why there is none.
func field(m string, f func(*modeReport) figure) func(result) (figure, string) {
	return func(res result) (figure, string) {
		r := res.mode(m)
		if r == nil {
			return nil, "mode " + m + " not run"
		}
		return f(r), ""
	}
}

// probed is field for a figure of the staleness probe's readers.
func probed(m string, f func(*modeReport) figure) func(result) (figure, string) {
	return func(res result) (figure, string) {
		v, why := field(m, f)(res)
		if r := res.mode(m); v == nil && why == "" && r.ProbeReaders == 0 {
			why = "no probe reader in this process"
		}
		return v, why
	}
}

// over divides a figure by a baseline's.
func over(num, base func(result) (figure, string)) func(result) (figure, string) {
	return func(res result) (figure, string) {
		a, why := num(res)
		if a == nil {
			return nil, why
		}
		b, why := base(res)
		if why != "" {
			return nil, why
		}
		if b != nil && *b == 0 {
			return nil, "the baseline's figure is 0 (applied before the write returned): no ratio"
		}
		return ratioOf(a, b), ""
	}
}

func rawRTT(q func(*rttReport) figure) func(result) (figure, string) {
	return func(res result) (figure, string) {
		if res.Baseline == nil {
			return nil, "raw NATS baseline not measured by this process"
		}
		return q(res.Baseline), ""
	}
}

func rueidisLag(q func(*rueidisReport) figure) func(result) (figure, string) {
	return func(res result) (figure, string) {
		if res.Rueidis == nil {
			return nil, "rueidis baseline not run by this process"
		}
		if res.Rueidis.Skipped != "" {
			return nil, "rueidis baseline n/a: " + res.Rueidis.Skipped
		}
		return q(res.Rueidis), ""
	}
}

var (
	writeP50 = func(m *modeReport) figure { return m.WriteP50us }
	writeP99 = func(m *modeReport) figure { return m.WriteP99us }
	lagP50   = func(m *modeReport) figure { return m.LagP50us }
	lagP99   = func(m *modeReport) figure { return m.LagP99us }
)

// clusterRatios are a cluster run's ratios to the baselines of the run.
var clusterRatios = []ratioDef{
	{"strong_set_p50_over_raw_rtt_p50", "strong Set p50 / raw NATS (N-1)-of-N ack round trip p50", some(targetStrongSetP50OverRTT),
		over(field("strong", writeP50), rawRTT(func(b *rttReport) figure { return b.P50us })), true},
	{"strong_set_p99_over_raw_rtt_p99", "strong Set p99 / raw round trip p99", nil,
		over(field("strong", writeP99), rawRTT(func(b *rttReport) figure { return b.P99us })), false},
	{"eventual_set_p50_over_strong_local_set_p50", "eventual Set p50 / strong-local Set p50 (the cost of publishing)", some(targetEventualSetOverLocal),
		over(field("eventual", writeP50), field("strong-local", writeP50)), false},
	{"eventual_lag_p50_over_raw_rtt_p50", "eventual lag p50 / raw round trip p50", nil,
		over(probed("eventual", lagP50), rawRTT(func(b *rttReport) figure { return b.P50us })), false},
	{"eventual_lag_p50_over_rueidis_lag_p50", "eventual lag p50 / Redis client-side caching (rueidis) invalidation lag p50", nil,
		over(probed("eventual", lagP50), rueidisLag(func(r *rueidisReport) figure { return r.LagP50us })), false},
	{"eventual_lag_p99_over_rueidis_lag_p99", "eventual lag p99 / rueidis invalidation lag p99", nil,
		over(probed("eventual", lagP99), rueidisLag(func(r *rueidisReport) figure { return r.LagP99us })), false},
}

// clusterTargets are a cluster run's absolute targets.
var clusterTargets = []ratioDef{
	{"eventual_lag_p99_us", "eventual lag p99, µs", some(targetEventualLagP99us), probed("eventual", lagP99), false},
	{"strong_set_p99_us", "strong Set p99, µs", some(targetStrongSetP99us), field("strong", writeP99), true},
	{"strong_stale_reads", "strong stale reads", some(targetStrongStaleReads), probed("strong", func(m *modeReport) figure {
		if m.StaleReads == nil {
			return nil
		}
		return some(float64(*m.StaleReads))
	}), false},
}

// singleRatios are a single-node run's ratios of warp to every other
// target of the run; warp's read p50 is held to the Get-hit target
// against bigcache.
func singleRatios(reps []report) []ratioDef {
	var warp *report
	for i := range reps {
		if reps[i].Target == "warp" {
			warp = &reps[i]
		}
	}
	if warp == nil {
		return nil
	}
	var out []ratioDef
	for _, r := range reps {
		if r.Target == "warp" {
			continue
		}
		var readTarget figure
		if r.Target == "bigcache" {
			readTarget = some(targetReadP50OverBigcacheP50)
		}
		out = append(out,
			ratioDef{fmt.Sprintf("warp_read_p50_over_%s_read_p50", r.Target), "warp read p50 / " + r.Target + "'s", readTarget,
				func(result) (figure, string) { return ratioOf(warp.ReadP50us, r.ReadP50us), "" }, false},
			ratioDef{fmt.Sprintf("warp_write_p50_over_%s_write_p50", r.Target), "warp write p50 / " + r.Target + "'s", nil,
				func(result) (figure, string) { return ratioOf(warp.WriteP50us, r.WriteP50us), "" }, false},
			ratioDef{fmt.Sprintf("warp_ops_per_sec_over_%s", r.Target), "warp ops/s / " + r.Target + "'s", nil,
				func(result) (figure, string) { return ratioOf(some(warp.OpsPerSec), some(r.OpsPerSec)), "" }, false},
		)
	}
	return out
}

// evalAll evaluates defs on res.
func evalAll(defs []ratioDef, res result) []ratioResult {
	out := make([]ratioResult, 0, len(defs))
	for _, d := range defs {
		out = append(out, d.eval(res))
	}
	return out
}
