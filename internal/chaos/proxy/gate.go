package proxy

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Direction names one or both directions of a link.
type Direction uint8

// The directions. Up is client to server (the node's publishes), Down
// server to client (what the node receives).
const (
	Up Direction = 1 << iota
	Down
	Both = Up | Down
)

func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	case Both:
		return "both"
	}
	return "none"
}

// gate is the fault state of one direction, shared by every link of a
// proxy.
type gate struct {
	mu      sync.Mutex // guards every field
	cut     bool
	healed  chan struct{} // closed when the current cut ends
	base    time.Duration
	jitter  time.Duration
	rng     *rand.Rand
	held    int // chunks waiting at the cut now
	carried uint64
}

func newGate(seed uint64) *gate {
	return &gate{healed: closedChan(), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// setCut starts or ends a cut.
func (g *gate) setCut(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case on && !g.cut:
		g.cut, g.healed = true, make(chan struct{})
	case !on && g.cut:
		g.cut = false
		close(g.healed)
	}
}

func (g *gate) setLatency(base, jitter time.Duration) {
	g.mu.Lock()
	g.base, g.jitter = base, jitter
	g.mu.Unlock()
}

// delay is the latency of the next chunk.
func (g *gate) delay() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.base
	if g.jitter > 0 {
		d += time.Duration(g.rng.Int64N(int64(g.jitter)))
	}
	return d
}

// pass waits while the direction is cut; it reports false if done closed
// first.
func (g *gate) pass(done <-chan struct{}) bool {
	g.mu.Lock()
	if !g.cut {
		g.mu.Unlock()
		return true
	}
	healed := g.healed
	g.held++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.held--
		g.mu.Unlock()
	}()
	select {
	case <-healed:
		return true
	case <-done:
		return false
	}
}

func (g *gate) count(n int) {
	g.mu.Lock()
	g.carried += uint64(n)
	g.mu.Unlock()
}

func (g *gate) stats() (held int, carried uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held, g.carried
}
