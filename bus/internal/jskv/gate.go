package jskv

import (
	"context"
	"sync"
)

// Gate admits calls until it is closed, then waits for the admitted ones:
// the life cycle of natslock's Locker and natslease's Leases. The zero
// value is not ready; use [NewGate].
type Gate struct {
	mu       sync.Mutex // guards closed, and orders inflight.Add before Close's Wait
	closed   bool
	done     chan struct{}
	inflight sync.WaitGroup
}

// NewGate returns an open gate.
func NewGate() *Gate { return &Gate{done: make(chan struct{})} }

// Enter admits a call: it returns ctx's error if ctx has ended, closed if
// the gate is closed, else nil, and the caller must then call [Gate.Leave]
// when the call returns.
func (g *Gate) Enter(ctx context.Context, closed error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return closed
	}
	g.inflight.Add(1)
	return nil
}

// Leave ends a call Enter admitted.
func (g *Gate) Leave() { g.inflight.Done() }

// Done is closed when the gate closes: admitted calls that wait should
// stop waiting.
func (g *Gate) Done() <-chan struct{} { return g.done }

// Closed reports whether the gate is closed.
func (g *Gate) Closed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// Close refuses later calls, closes Done and waits for the admitted calls.
// Idempotent; every call waits.
func (g *Gate) Close() {
	g.mu.Lock()
	first := !g.closed
	g.closed = true
	g.mu.Unlock()
	if first {
		close(g.done)
	}
	g.inflight.Wait()
}
