package main

import (
	"fmt"
	"runtime"
	"strings"
)

// A noteRule prints a note under a cluster's report only when its rule
// holds on the figures of the run; -h prints every rule.
type noteRule struct {
	rule string
	note func(cfg config, res result) []string
}

// waitFactor: the processor-wait note needs an eventual lag p50 above
// this many raw round trips (a one-way trip is about half of one).
const waitFactor = 5

var noteRules = []noteRule{
	{fmt.Sprintf("processor wait: a closed loop (-rate 0) with at least as many workers as processors, and an eventual lag p50 above %d× the raw NATS round trip p50", waitFactor), processorWait},
	{"lease: a node had no coherence lease during a mode (it then serves strong and flush-policy eventual keys from the store, so its L1 hit ratio drops)", leaseNotes},
	{"repairs: a node's bus detected gaps or made repair flushes during a mode", repairNotes},
	{"strong grace: strong mode's L1 hit ratio is under 0.5 after a repair in it or the mode before it (after a repair flush a node caches no strong key for 2× StrongTimeout plus a lease)", strongGrace},
	{"violation: strong mode observed a stale read (its promise is 0)", strongStale},
	{"unseen: a reader node never applied some probe writes of eventual or strong before the phase ended (+1 s)", unseenNotes},
	{"spinning readers: -probe-spin with at least as many probe readers in this process as processors", spinNotes},
	{"lag over TCP: at a fixed rate on the embedded server over 127.0.0.1, the eventual lag p99 is above rueidis's", tcpLagNotes},
}

// clusterNotes returns the notes whose rule holds.
func clusterNotes(cfg config, res result) []string {
	var out []string
	for _, r := range noteRules {
		out = append(out, r.note(cfg, res)...)
	}
	return out
}

func processorWait(cfg config, res result) []string {
	ev, b := res.mode("eventual"), res.Baseline
	procs := runtime.GOMAXPROCS(0)
	if cfg.Rate > 0 || cfg.Concurrency < procs || ev == nil || b == nil || ev.LagP50us == nil || b.P50us == nil {
		return nil
	}
	x := *ev.LagP50us / *b.P50us
	if x <= waitFactor {
		return nil
	}
	return []string{fmt.Sprintf("eventual lag p50 %.0fµs is %.0f× the raw round trip p50 (%.0fµs): %d closed-loop workers that never block hold all %d processors, "+
		"so the goroutines that carry an invalidation (the publish pump, nats.go's flusher, the server's and the peers' read loops) wait for one; "+
		"the lag is mostly that wait. -rate N measures propagation (docs/performance.md).", *ev.LagP50us, x, *b.P50us, cfg.Concurrency, procs)}
}

func spinNotes(cfg config, _ result) []string {
	readers, procs := cfg.Nodes-1, runtime.GOMAXPROCS(0)
	if !cfg.ProbeSpin || cfg.multiProcess() || readers < procs {
		return nil
	}
	return []string{fmt.Sprintf("-probe-spin: %d spinning probe readers hold all %d processors, so everything else, Warp's and rueidis's invalidations alike, "+
		"waits for the scheduler to preempt them: the lags measure that (-nodes %d leaves a processor free).", readers, procs, procs)}
}

func tcpLagNotes(cfg config, res result) []string {
	ev, r := res.mode("eventual"), res.Rueidis
	if cfg.Rate <= 0 || cfg.NATS != "" || cfg.NATSInProcess || ev == nil || r == nil {
		return nil
	}
	x := ratioOf(ev.LagP99us, r.LagP99us)
	if x == nil || *x <= 1 {
		return nil
	}
	return []string{fmt.Sprintf("eventual lag p99 %.0fµs is %.1f× rueidis's (%.0fµs): over 127.0.0.1 most of it is NATS's own path, two loopback hops, "+
		"each waiting for Go's network poller (docs/performance.md, \"Invalidation lag\"); -nats-inprocess runs the nodes on in-memory pipes, "+
		"as an application that embeds its NATS server would. The two lags do not start alike: Redis sends a tracking client's invalidation "+
		"while it runs the SET, before its reply, so rueidis's counts the reader's wake-up alone; Warp publishes once Set returned.",
		*ev.LagP99us, *x, *r.LagP99us)}
}

func leaseNotes(_ config, res result) []string {
	var out []string
	for _, m := range res.Modes {
		var parts []string
		for _, n := range m.PerNode {
			if n.NoLeaseMs != nil && *n.NoLeaseMs > 0 {
				parts = append(parts, fmt.Sprintf("%s %.0f ms (%.1f%%, %s losses, L1 hit ratio %s)", n.Node, *n.NoLeaseMs,
					*n.NoLeaseFraction*100, fmtC(n.LeaseLosses), fmtF(n.L1HitRatio, 3)))
			}
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("%s: nodes without a coherence lease: %s. A lease lapses when heartbeat answers come later than "+
				"the lease (%v; heartbeats every %v), as when the processors are held by the load; meanwhile strong and flush-policy "+
				"eventual keys are read from the store.", m.Mode, strings.Join(parts, "; "), benchLease, benchHeartbeat))
		}
	}
	return out
}

func repairNotes(_ config, res result) []string {
	var out []string
	for _, m := range res.Modes {
		var parts []string
		for _, n := range m.PerNode {
			if n.Repairs > 0 || n.Gaps > 0 {
				parts = append(parts, fmt.Sprintf("%s %d repairs, %d gaps", n.Node, n.Repairs, n.Gaps))
			}
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("%s: %s (a repair flushes the node's cache: it refills from the store).", m.Mode, strings.Join(parts, "; ")))
		}
	}
	return out
}

func strongStale(_ config, res result) []string {
	if s := res.mode("strong"); s != nil && s.StaleReads != nil && *s.StaleReads > 0 {
		return []string{fmt.Sprintf("VIOLATION: strong mode returned %d stale reads of %d probe reads; its promise is 0.", *s.StaleReads, s.ProbeReads)}
	}
	return nil
}

func unseenNotes(_ config, res result) []string {
	var out []string
	for _, m := range res.Modes {
		if m.Mode != "strong-local" && m.Unseen != nil && *m.Unseen > 0 {
			out = append(out, fmt.Sprintf("%s: %d probe writes × reader nodes were never applied before the phase ended (+1 s).", m.Mode, *m.Unseen))
		}
	}
	return out
}

func strongGrace(_ config, res result) []string {
	for i, m := range res.Modes {
		if m.Mode != "strong" || m.L1HitRatio == nil || *m.L1HitRatio >= 0.5 {
			continue
		}
		repairs := m.BusRepairs
		if i > 0 {
			repairs += res.Modes[i-1].BusRepairs
		}
		if repairs == 0 {
			continue
		}
		return []string{fmt.Sprintf("strong: L1 hit ratio %.3f after %d repairs in this mode or the one before: after a repair flush a node "+
			"does not cache strong keys for 2× StrongTimeout plus a lease (%v here), so its strong reads went to the store.", *m.L1HitRatio, repairs, 2*benchStrongTimeout+benchLease)}
	}
	return nil
}
