package chaos

import (
	"context"
	"errors"
	"time"

	"github.com/warpcache/warp/internal/chaos/node"
	"github.com/warpcache/warp/internal/chaos/proxy"
)

// Scenario is one row of the report: a fault schedule run against a fresh
// cluster under load.
type Scenario struct {
	Name string
	// Doc says what the fault is.
	Doc string
	// NATS is the number of NATS servers (1, or 3 in a cluster).
	NATS int
	// FullRuns is how many runs the full profile gives it (the short
	// profile runs every scenario once).
	FullRuns int
	// Canary runs the nodes broken on purpose (node.Settings.Canary): a
	// run passes only if some check fails, showing that the suite still
	// can.
	Canary bool
	// Fault applies the faults and heals them before it returns, while
	// the load runs.
	Fault func(ctx context.Context, e *Env) error
}

// The nodes the scenarios hit (0-based): n2 is paused, killed and jumps
// ahead; n3 is cut off and jumps back.
const (
	n2 = 1
	n3 = 2
)

// Scenarios returns every scenario, in report order. Fault lengths follow
// the nodes' Warp timeouts (node.Timing): a short pause is half the
// coherence lease (the shortest timeout), a long one 3 s past the longest;
// a one-way cut lasts three membership leases, past the expulsion of the
// node cut off.
func Scenarios() []Scenario {
	t := node.Timing()
	short, long := t.Lease/2, t.Longest()+3*time.Second
	oneWay := 3 * t.Member
	return []Scenario{
		{Name: "pause-short", NATS: 1, FullRuns: 5, Doc: "n2 is paused (SIGSTOP) for " + short.String() + ", three times, 1 s apart", Fault: pauses(short, false, 3)},
		{Name: "pause-short-cut", NATS: 1, FullRuns: 5, Doc: "as pause-short, and n2's link is cut (connections dropped) when it is paused, healed 1 s after it continues", Fault: pauses(short, true, 3)},
		{Name: "pause-long", NATS: 1, FullRuns: 5, Doc: "n2 is paused for " + long.String() + ", past every Warp timeout", Fault: pauses(long, false, 1)},
		{Name: "pause-long-cut", NATS: 1, FullRuns: 5, Doc: "as pause-long, and n2's link is cut (connections dropped) when it is paused, healed 1 s after it continues", Fault: pauses(long, true, 1)},
		{Name: "partition-2s", NATS: 1, FullRuns: 1, Doc: "n3 is cut from NATS both ways for 2 s (connections kept)", Fault: partition(n3, proxy.Both, 2*time.Second)},
		{Name: "partition-30s", NATS: 1, FullRuns: 5, Doc: "n3 is cut from NATS both ways for 30 s (connections kept), 15× MemberLease", Fault: partition(n3, proxy.Both, 30*time.Second)},
		{Name: "one-way-up", NATS: 1, FullRuns: 1, Doc: "n3's messages to NATS stop for " + oneWay.String() + "; what NATS sends it still arrives", Fault: partition(n3, proxy.Up, oneWay)},
		{Name: "one-way-down", NATS: 1, FullRuns: 1, Doc: "what NATS sends n3 stops for " + oneWay.String() + "; n3's messages still arrive", Fault: partition(n3, proxy.Down, oneWay)},
		{Name: "nats-restart", NATS: 1, FullRuns: 1, Doc: "the NATS server is shut down for 3 s, then started on the same port", Fault: natsRestart(3 * time.Second)},
		{Name: "nats-cluster-lose-one", NATS: 3, FullRuns: 1, Doc: "three routed NATS servers; n1's home server is shut down for 6 s (n1 reconnects to another), then started again", Fault: natsRestart(6 * time.Second)},
		{Name: "kill-restart", NATS: 1, FullRuns: 1, Doc: "n2 is killed (SIGKILL) and restarted 2 s later", Fault: killRestart},
		{Name: "latency", NATS: 1, FullRuns: 1, Doc: "every link gets 25 ms + [0, 50 ms) of latency each way for 8 s", Fault: latency},
		{Name: "clock-jump", NATS: 1, FullRuns: 1, Doc: "n2's clock jumps +1 h and n3's −1 h at run time; 4 s later both restart keeping their offsets", Fault: clockJump},
		{Name: "canary", NATS: 1, FullRuns: 1, Canary: true, Doc: "nodes broken on purpose (every family eventual, serving stale copies); n3 is cut from NATS both ways for 3 s: the run must fail", Fault: partition(n3, proxy.Both, 3*time.Second)},
	}
}

// passed reports whether res is the verdict sc must get: every check
// passed, or, for the canary, some check failed in a run that completed.
func (sc Scenario) passed(res RunResult) bool {
	if sc.Canary {
		return res.Err == nil && res.Failed()
	}
	return !res.Failed()
}

// pauses pauses n2 times times for d, 1 s apart; with cut, its link is
// cut (dropping its connections) as it is paused and healed 1 s after it
// continues.
func pauses(d time.Duration, cut bool, times int) func(context.Context, *Env) error {
	return func(ctx context.Context, e *Env) error {
		for i := range times {
			if i > 0 {
				if err := e.sleep(ctx, time.Second); err != nil {
					return err
				}
			}
			if err := e.pause(n2); err != nil {
				return err
			}
			var errs []error
			if cut {
				errs = append(errs, e.cut(n2, proxy.Both, true))
			}
			errs = append(errs, e.sleep(ctx, d), e.resume(n2))
			if cut {
				errs = append(errs, e.sleep(ctx, time.Second))
				e.heal()
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
		}
		return nil
	}
}

// partition cuts node i's link in direction dir for d.
func partition(i int, dir proxy.Direction, d time.Duration) func(context.Context, *Env) error {
	return func(ctx context.Context, e *Env) error {
		if err := e.cut(i, dir, false); err != nil {
			return err
		}
		err := e.sleep(ctx, d)
		e.heal()
		return err
	}
}

// natsRestart shuts NATS server 0 (n1's home) down for d.
func natsRestart(d time.Duration) func(context.Context, *Env) error {
	return func(ctx context.Context, e *Env) error {
		e.stopNATS(0)
		err := e.sleep(ctx, d)
		return errors.Join(err, e.startNATS(0))
	}
}

func killRestart(ctx context.Context, e *Env) error {
	if err := e.kill(n2); err != nil {
		return err
	}
	err := e.sleep(ctx, 2*time.Second)
	return errors.Join(err, e.restart(ctx, n2, 0))
}

func latency(ctx context.Context, e *Env) error {
	if err := e.latency(25*time.Millisecond, 50*time.Millisecond); err != nil {
		return err
	}
	err := e.sleep(ctx, 8*time.Second)
	e.heal()
	return err
}

func clockJump(ctx context.Context, e *Env) error {
	offsets := map[int]time.Duration{n2: time.Hour, n3: -time.Hour}
	for _, i := range []int{n2, n3} {
		if err := e.clock(ctx, i, offsets[i]); err != nil {
			return err
		}
	}
	if err := e.sleep(ctx, 4*time.Second); err != nil {
		return err
	}
	for _, i := range []int{n2, n3} {
		if err := e.stop(i); err != nil {
			return err
		}
		if err := e.restart(ctx, i, offsets[i]); err != nil {
			return err
		}
	}
	return e.sleep(ctx, 4*time.Second)
}
