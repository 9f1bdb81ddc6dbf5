package jskv

import (
	"context"
	"sync"
)

// Gate admits calls until it is closed, then ends and waits for the
// admitted ones: the life cycle of natslock's Locker and natslease's
// Leases. The zero value is not ready; use [NewGate].
type Gate struct {
	mu       sync.Mutex // guards closed, and orders inflight.Add before Close's Wait
	closed   bool
	done     chan struct{}
	inflight sync.WaitGroup
	// ctx ends when the gate closes: every admitted call's context is
	// bound to it, so a call waiting on a stalled server ends then.
	ctx    context.Context
	cancel context.CancelFunc
}

// NewGate returns an open gate.
func NewGate() *Gate {
	g := &Gate{done: make(chan struct{})}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g
}

// Enter admits a call: it returns ctx's error if ctx has ended, closed if
// the gate is closed. Else it returns ctx bound to the gate (it also ends,
// with closed as its cause, when the gate closes), and leave, which the
// caller must call when the call returns.
func (g *Gate) Enter(ctx context.Context, closed error) (bound context.Context, leave func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, nil, closed
	}
	g.inflight.Add(1)
	bound, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(g.ctx, func() { cancel(closed) })
	return bound, func() {
		stop()
		cancel(nil)
		g.inflight.Done()
	}, nil
}

// Done is closed when the gate closes: admitted calls that wait should
// stop waiting.
func (g *Gate) Done() <-chan struct{} { return g.done }

// Context returns a context that ends when the gate closes, for the
// owner's own background calls.
func (g *Gate) Context() context.Context { return g.ctx }

// Closed reports whether the gate is closed.
func (g *Gate) Closed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// Close refuses later calls, closes Done, ends the admitted calls'
// contexts and waits for the calls to leave. Idempotent; every call waits.
func (g *Gate) Close() {
	g.mu.Lock()
	first := !g.closed
	g.closed = true
	g.mu.Unlock()
	if first {
		close(g.done)
		g.cancel()
	}
	g.inflight.Wait()
}
