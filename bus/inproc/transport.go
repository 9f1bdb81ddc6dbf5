package inproc

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/warpcache/warp/bus"
)

// Transport is one node's [bus.Transport] on a [Hub].
type Transport struct {
	hub           *Hub
	cluster, node string
	h             bus.Handler
	opened        atomic.Bool
	down          atomic.Bool // simulated disconnection
	closeOnce     sync.Once
	wake          chan struct{} // nudges run after enqueue
	done          chan struct{} // closed by Close
	wg            sync.WaitGroup

	mu     sync.Mutex // guards queue and closed
	queue  [][]byte
	closed bool
}

var _ bus.Transport = (*Transport)(nil)

// Open implements [bus.Transport].
func (t *Transport) Open(cluster, node string, h bus.Handler) error {
	if cluster == "" || node == "" || h == nil {
		return fmt.Errorf("%w: inproc: empty cluster, node or handler", bus.ErrInvalid)
	}
	if !t.opened.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: inproc: opened twice", bus.ErrInvalid)
	}
	t.cluster, t.node, t.h = cluster, node, h
	if err := t.hub.join(t); err != nil {
		return fmt.Errorf("%w: inproc: node %q already in cluster %q", bus.ErrInvalid, node, cluster)
	}
	t.wg.Add(1)
	go t.run()
	return nil
}

// Broadcast implements [bus.Transport]; it is not echoed to the sender.
func (t *Transport) Broadcast(msg []byte) error {
	if err := t.usable(); err != nil || t.down.Load() {
		return err
	}
	t.hub.deliver(t.cluster, msg, func(o *Transport) bool { return o != t })
	return nil
}

// Send implements [bus.Transport].
func (t *Transport) Send(node string, msg []byte) error {
	if err := t.usable(); err != nil || t.down.Load() {
		return err
	}
	t.hub.deliver(t.cluster, msg, func(o *Transport) bool { return o.node == node })
	return nil
}

// InProcess implements [bus.InProcess]: the hub never leaves the process,
// so a bus on it needs no cluster key.
func (t *Transport) InProcess() bool { return true }

// Disconnect simulates a lost connection: the handler gets
// [bus.Disconnected] and the node neither sends nor receives until
// [Transport.Reconnect].
func (t *Transport) Disconnect() {
	if !t.down.Swap(true) {
		t.h.HandleState(bus.Disconnected)
	}
}

// Reconnect ends a [Transport.Disconnect]; the handler gets
// [bus.Reconnected].
func (t *Transport) Reconnect() {
	if t.down.Swap(false) {
		t.h.HandleState(bus.Reconnected)
	}
}

// Close implements [bus.Transport].
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		if t.opened.Load() {
			t.hub.leave(t)
		}
		close(t.done)
		t.wg.Wait()
	})
	return nil
}

func (t *Transport) usable() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return fmt.Errorf("%w: inproc: transport closed", bus.ErrClosed)
	case !t.opened.Load():
		return fmt.Errorf("%w: inproc: transport not open", bus.ErrInvalid)
	}
	return nil
}

func (t *Transport) enqueue(msg []byte) {
	if t.down.Load() {
		return
	}
	t.mu.Lock()
	if !t.closed {
		t.queue = append(t.queue, msg)
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// run delivers queued messages until Close.
func (t *Transport) run() {
	defer t.wg.Done()
	for {
		select {
		case <-t.done:
			return
		case <-t.wake:
		}
		t.mu.Lock()
		batch := t.queue
		t.queue = nil
		t.mu.Unlock()
		for _, msg := range batch {
			select {
			case <-t.done:
				return
			default:
			}
			t.h.HandleMessage(msg)
		}
	}
}
