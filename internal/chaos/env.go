package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/warpcache/warp/internal/chaos/cluster"
	"github.com/warpcache/warp/internal/chaos/control"
	"github.com/warpcache/warp/internal/chaos/proxy"
)

// Env is what a scenario's fault acts on: the run's cluster, with the
// steps the scenarios are made of. Every step logs what it does.
type Env struct {
	c    *cluster.Cluster
	logf func(format string, args ...any)
}

// node returns node i (0-based: n1 is 0).
func (e *Env) node(i int) *cluster.Node { return e.c.Nodes()[i] }

// sleep waits d, or until ctx ends.
func (e *Env) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (e *Env) pause(i int) error {
	e.logf("pause %s", e.node(i).ID)
	return e.node(i).Pause()
}

func (e *Env) resume(i int) error {
	e.logf("continue %s", e.node(i).ID)
	return e.node(i).Continue()
}

// cut cuts node i's link in direction d (drop: closing its connections).
func (e *Env) cut(i int, d proxy.Direction, drop bool) error {
	e.logf("cut %s %s (drop connections: %v)", e.node(i).ID, d, drop)
	return e.node(i).Proxy.Cut(d, drop)
}

// heal ends every link fault of every node.
func (e *Env) heal() {
	e.logf("heal every link")
	for _, n := range e.c.Nodes() {
		n.Proxy.Heal()
	}
}

func (e *Env) latency(base, jitter time.Duration) error {
	e.logf("latency %v + [0, %v) on every link, both ways", base, jitter)
	for _, n := range e.c.Nodes() {
		if err := n.Proxy.Latency(proxy.Both, base, jitter); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) kill(i int) error {
	e.logf("kill -9 %s", e.node(i).ID)
	return e.node(i).Kill()
}

func (e *Env) stop(i int) error {
	e.logf("stop %s (SIGTERM)", e.node(i).ID)
	return e.node(i).Stop()
}

func (e *Env) restart(ctx context.Context, i int, offset time.Duration) error {
	e.logf("restart %s (clock offset %v)", e.node(i).ID, offset)
	if err := e.node(i).Restart(offset); err != nil {
		return err
	}
	return e.offset(ctx, i, offset, (*control.Client).Stats)
}

// clock sets node i's clock offset at run time.
func (e *Env) clock(ctx context.Context, i int, offset time.Duration) error {
	e.logf("clock of %s jumps to offset %v", e.node(i).ID, offset)
	return e.offset(ctx, i, offset, func(cl *control.Client, ctx context.Context) (control.Stats, error) {
		return cl.SetClock(ctx, offset)
	})
}

// offset calls node i with call and checks that the stats it answers show
// the clock offset want.
func (e *Env) offset(ctx context.Context, i int, want time.Duration, call func(*control.Client, context.Context) (control.Stats, error)) error {
	cl := e.node(i).Client()
	if cl == nil {
		return fmt.Errorf("chaos: %s is down", e.node(i).ID)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := call(cl, ctx)
	if err == nil && st.ClockOffset != want {
		err = fmt.Errorf("chaos: %s runs with clock offset %v; want %v", e.node(i).ID, st.ClockOffset, want)
	}
	return err
}

func (e *Env) stopNATS(i int) {
	e.logf("stop NATS server %d", i)
	e.c.StopNATS(i)
}

func (e *Env) startNATS(i int) error {
	e.logf("start NATS server %d", i)
	return e.c.StartNATS(i)
}
