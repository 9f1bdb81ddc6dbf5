package kafkabus

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/warpcache/warp/bus"
)

// hooks turns franz-go's broker events into connection states: a broker is
// down after a failed connect, read or write, and up again after a
// successful connect or read. The transport is Disconnected while any
// broker is down. Seed connections (negative ids) are ignored: once the
// client knows the cluster it talks to brokers by id and may never
// reconnect to a seed address.
type hooks struct {
	mu      sync.Mutex // guards down, pending and closed
	down    map[int32]struct{}
	pending []bus.State // transitions not yet delivered, at most two
	closed  bool
	wake    chan struct{} // nudges run after pending changed
	anyDown atomic.Bool   // len(down) > 0: the fast path of a healthy read
}

var (
	_ kgo.HookBrokerConnect = (*hooks)(nil)
	_ kgo.HookBrokerRead    = (*hooks)(nil)
	_ kgo.HookBrokerWrite   = (*hooks)(nil)
)

func newHooks() *hooks {
	return &hooks{down: map[int32]struct{}{}, wake: make(chan struct{}, 1)}
}

// OnBrokerConnect implements [kgo.HookBrokerConnect].
func (h *hooks) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	h.mark(meta.NodeID, err)
}

// OnBrokerRead implements [kgo.HookBrokerRead].
func (h *hooks) OnBrokerRead(meta kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	h.mark(meta.NodeID, err)
}

// OnBrokerWrite implements [kgo.HookBrokerWrite]; only failures count.
func (h *hooks) OnBrokerWrite(meta kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	if err != nil {
		h.mark(meta.NodeID, err)
	}
}

// mark records broker id as up (err nil) or down and queues a transition
// of the transport's state. A cancelled request (the client closing, or
// giving up on a request) says nothing about the broker.
func (h *hooks) mark(id int32, err error) {
	if id < 0 || err == nil && !h.anyDown.Load() ||
		errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	wasDown := len(h.down) > 0
	if err != nil {
		h.down[id] = struct{}{}
	} else {
		delete(h.down, id)
	}
	isDown := len(h.down) > 0
	h.anyDown.Store(isDown)
	switch {
	case h.closed || isDown == wasDown:
		return
	case isDown:
		h.queue(bus.Disconnected)
	default:
		h.queue(bus.Reconnected)
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// queue appends s to the undelivered transitions, which alternate. Three
// collapse to the first (down, up, down is down; up, down, up is up), so
// the handler sees the same final state and at least one Reconnected
// after any disconnection.
func (h *hooks) queue(s bus.State) {
	if len(h.pending) == 2 {
		h.pending = h.pending[:1]
		return
	}
	h.pending = append(h.pending, s)
}

// run delivers the queued transitions to deliver, in order and outside
// the lock, until done is closed.
func (h *hooks) run(done <-chan struct{}, deliver func(bus.State)) {
	for {
		select {
		case <-done:
			return
		case <-h.wake:
		}
		h.mu.Lock()
		states := h.pending
		h.pending = nil
		h.mu.Unlock()
		for _, s := range states {
			deliver(s)
		}
	}
}

// close stops queueing transitions.
func (h *hooks) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
}
