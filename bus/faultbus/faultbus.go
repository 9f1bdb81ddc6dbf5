package faultbus

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warpcache/warp/bus"
)

// reorderHold is how long a message held back for a reorder waits for a
// successor before it is delivered anyway.
const reorderHold = 5 * time.Millisecond

// Faults are the fault rates of a [Transport]; the zero value injects
// nothing.
type Faults struct {
	// Drop is the probability that an inbound message is lost.
	Drop float64
	// Duplicate is the probability that an inbound message is delivered
	// twice.
	Duplicate float64
	// Reorder is the probability that an inbound message is held back and
	// delivered after the next one.
	Reorder float64
	// Delay postpones every inbound message.
	Delay time.Duration
}

// Stats counts what a [Transport] did to inbound messages.
type Stats struct {
	Delivered, Dropped, Duplicated, Reordered uint64
}

// Transport is a fault-injecting [bus.Transport].
type Transport struct {
	inner       bus.Transport
	rng         *rand.Rand // used by run only
	partitioned atomic.Bool
	stats       struct{ delivered, dropped, duplicated, reordered atomic.Uint64 }

	mu       sync.Mutex // guards faults, dropNext, queue and closed
	faults   Faults
	dropNext int
	queue    []arrival
	closed   bool

	h         bus.Handler
	wake      chan struct{}
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type arrival struct {
	msg []byte
	at  time.Time
}

var _ bus.Transport = (*Transport)(nil)

// New wraps inner; seed fixes every random choice.
func New(inner bus.Transport, seed uint64) *Transport {
	return &Transport{
		inner: inner,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
}

// SetFaults replaces the fault rates.
func (t *Transport) SetFaults(f Faults) {
	t.mu.Lock()
	t.faults = f
	t.mu.Unlock()
}

// DropNext drops the next n inbound messages.
func (t *Transport) DropNext(n int) {
	t.mu.Lock()
	t.dropNext = n
	t.mu.Unlock()
}

// Partition cuts the node off (on) or heals the cut (off): while cut, its
// sends are silently lost and nothing reaches it.
func (t *Transport) Partition(on bool) { t.partitioned.Store(on) }

// Stats returns the counters so far.
func (t *Transport) Stats() Stats {
	return Stats{
		Delivered:  t.stats.delivered.Load(),
		Dropped:    t.stats.dropped.Load(),
		Duplicated: t.stats.duplicated.Load(),
		Reordered:  t.stats.reordered.Load(),
	}
}

// Open implements [bus.Transport].
// InProcess implements [bus.InProcess] for the transport it wraps.
func (t *Transport) InProcess() bool {
	ip, ok := t.inner.(bus.InProcess)
	return ok && ip.InProcess()
}

// Open implements [bus.Transport].
func (t *Transport) Open(cluster, node string, h bus.Handler) error {
	t.h = h
	err := t.inner.Open(cluster, node, bus.HandlerFuncs{Message: t.arrive, State: h.HandleState})
	if err == nil {
		t.wg.Add(1)
		go t.run()
	}
	return err
}

// Broadcast implements [bus.Transport].
func (t *Transport) Broadcast(msg []byte) error {
	if t.partitioned.Load() {
		return nil
	}
	return t.inner.Broadcast(msg)
}

// Send implements [bus.Transport].
func (t *Transport) Send(node string, msg []byte) error {
	if t.partitioned.Load() {
		return nil
	}
	return t.inner.Send(node, msg)
}

// Close implements [bus.Transport]: it closes the inner transport and
// waits for the delivery goroutine; queued messages are dropped.
func (t *Transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		err = t.inner.Close()
		t.mu.Lock()
		t.closed = true
		t.queue = nil
		t.mu.Unlock()
		close(t.done)
		t.wg.Wait()
	})
	return err
}

func (t *Transport) arrive(msg []byte) {
	if t.partitioned.Load() {
		t.stats.dropped.Add(1)
		return
	}
	t.mu.Lock()
	if !t.closed {
		t.queue = append(t.queue, arrival{msg: append([]byte(nil), msg...), at: time.Now()})
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}
