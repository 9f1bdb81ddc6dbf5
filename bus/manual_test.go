package bus_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/merge"
)

// manualHub is a transport hub that delivers nothing until the test calls
// drain: with manual buses and a fake clock, a test then decides exactly
// what happens in what order. A node can be cut off (what it sends and
// what is sent to it is lost, each way separately) or paused (what is
// sent to it waits, as in a stopped process's socket, until it resumes).
type manualHub struct {
	mu    sync.Mutex // guards all below
	nodes map[string]*manualTransport
	order []string
}

type manualTransport struct {
	hub            *manualHub
	node           string
	h              bus.Handler
	queue          [][]byte
	cutIn, cutOut  bool
	paused, closed bool
}

func newManualHub() *manualHub { return &manualHub{nodes: map[string]*manualTransport{}} }

func (h *manualHub) transport() *manualTransport { return &manualTransport{hub: h} }

func (t *manualTransport) Open(_, node string, hd bus.Handler) error {
	t.hub.mu.Lock()
	defer t.hub.mu.Unlock()
	t.node, t.h = node, hd
	t.hub.nodes[node] = t
	t.hub.order = append(t.hub.order, node)
	return nil
}

func (t *manualTransport) Broadcast(msg []byte) error {
	return t.deliver(msg, func(o *manualTransport) bool { return o != t })
}

func (t *manualTransport) Send(node string, msg []byte) error {
	return t.deliver(msg, func(o *manualTransport) bool { return o.node == node })
}

func (t *manualTransport) deliver(msg []byte, to func(*manualTransport) bool) error {
	t.hub.mu.Lock()
	defer t.hub.mu.Unlock()
	if t.cutOut || t.closed {
		return nil
	}
	for _, o := range t.hub.nodes {
		if to(o) && !o.cutIn && !o.closed {
			o.queue = append(o.queue, bytes.Clone(msg))
		}
	}
	return nil
}

func (t *manualTransport) Close() error {
	t.hub.mu.Lock()
	defer t.hub.mu.Unlock()
	t.closed, t.queue = true, nil
	return nil
}

// set changes a node's faults under the hub's lock.
func (h *manualHub) set(node string, fn func(t *manualTransport)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn(h.nodes[node])
}

// drain delivers every queued message, and what the deliveries make the
// nodes send, until no node that is not paused has anything queued.
func (h *manualHub) drain(sync func(node string)) {
	for range 10000 {
		h.mu.Lock()
		var t *manualTransport
		var msg []byte
		for _, id := range h.order {
			if o := h.nodes[id]; !o.paused && !o.closed && len(o.queue) > 0 {
				t, msg = o, o.queue[0]
				o.queue = o.queue[1:]
				break
			}
		}
		h.mu.Unlock()
		if t == nil {
			return
		}
		t.h.HandleMessage(msg)
		sync(t.node)
	}
	panic("manualHub: messages never stop")
}

// mcluster is nodes on a manualHub, a shared fake clock and a shared
// membership, ticked by hand.
type mcluster struct {
	t     testing.TB
	clk   *fakeClock
	hub   *manualHub
	m     *bustest.Membership
	cfg   bus.Config
	nodes map[string]*mnode
	order []string
}

type mnode struct {
	b      *bus.Bus
	app    *bustest.Applier
	paused bool
}

// newMCluster starts one manual bus per id, with the Membership unless
// unanchored, and steps until every node holds its lease.
func newMCluster(t testing.TB, anchored bool, ids ...string) *mcluster {
	t.Helper()
	return newMClusterOf(t, anchored, nil, ids...)
}

// newMClusterWith is an anchored newMCluster whose Config edit changes.
func newMClusterWith(t testing.TB, edit func(*bus.Config), ids ...string) *mcluster {
	t.Helper()
	return newMClusterOf(t, true, edit, ids...)
}

func newMClusterOf(t testing.TB, anchored bool, edit func(*bus.Config), ids ...string) *mcluster {
	t.Helper()
	c := &mcluster{t: t, clk: &fakeClock{}, hub: newManualHub(), m: bustest.NewMembership(), nodes: map[string]*mnode{}}
	c.cfg = bus.Config{
		Cluster: clusterOf(t), Now: c.clk.Now, Keys: testKeys,
		HeartbeatInterval: 100 * time.Millisecond, LeaseDuration: 500 * time.Millisecond,
		MaxClockDrift: 0.01, LeaseMargin: 10 * time.Millisecond, PeerTimeout: 3 * time.Second,
		StrongTimeout: 2 * time.Second, MemberLease: 2 * time.Second,
	}
	if anchored {
		c.cfg.Membership = c.m
	}
	if edit != nil {
		edit(&c.cfg)
	}
	for _, id := range ids {
		c.start(id)
	}
	c.until("every node holds its lease", 50, func() bool {
		for _, id := range c.order {
			if !c.nodes[id].b.LeaseValid() {
				return false
			}
		}
		return true
	})
	return c
}

// start starts node id (again, after a crash: its old bus is abandoned).
func (c *mcluster) start(id string) *mnode {
	c.t.Helper()
	cfg := c.cfg
	cfg.NodeID, cfg.Transport = id, c.hub.transport()
	app := bustest.NewApplier()
	cfg.Applier = app
	b, err := bus.NewManual(newSystem(c.t), cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = b.Close() })
	n := &mnode{b: b, app: app}
	if _, ok := c.nodes[id]; !ok {
		c.order = append(c.order, id)
	}
	c.nodes[id] = n
	return n
}

func (c *mcluster) sync(id string) { bus.Sync(c.nodes[id].b) }

// step advances the clock by d, then lets every running node do its timed
// duties and its membership calls, and delivers everything that follows.
func (c *mcluster) step(d time.Duration) {
	c.clk.Advance(d)
	for _, id := range c.order {
		if !c.nodes[id].paused {
			bus.Tick(c.nodes[id].b)
		}
	}
	c.hub.drain(c.sync)
	for _, id := range c.order {
		if n := c.nodes[id]; !n.paused && c.cfg.Membership != nil {
			bus.Renew(n.b)
			bus.ServeMembership(n.b)
		}
	}
	c.hub.drain(c.sync)
	for _, id := range c.order {
		if !c.nodes[id].paused {
			bus.Tick(c.nodes[id].b) // take what arrived (answers, acks) into the lease
		}
	}
}

// until steps a heartbeat interval at a time, at most n times, until cond.
func (c *mcluster) until(what string, n int, cond func() bool) {
	c.t.Helper()
	for range n {
		if cond() {
			return
		}
		c.step(c.cfg.HeartbeatInterval)
	}
	if !cond() {
		c.t.Fatalf("not after %d heartbeat intervals: %s; state: %s", n, what, c.state())
	}
}

func (c *mcluster) state() string {
	s := ""
	for _, id := range c.order {
		b := c.nodes[id].b
		ep, member := b.Member()
		s += fmt.Sprintf("\n  %s: lease %v, member %v (epoch %d), view %v, %+v", id, b.LeaseValid(), member, ep, b.Members(), b.Stats())
	}
	return s + fmt.Sprintf("\n  records: %v", c.m.Members())
}

// pause stops node id: it neither ticks nor takes messages, which queue.
func (c *mcluster) pause(id string, on bool) {
	c.nodes[id].paused = on
	c.hub.set(id, func(t *manualTransport) { t.paused = on })
}

// cut cuts node id off the bus, inbound and outbound separately.
func (c *mcluster) cut(id string, in, out bool) {
	c.hub.set(id, func(t *manualTransport) { t.cutIn, t.cutOut = in, out })
}

// report makes node id's transport report state s to its bus.
func (c *mcluster) report(id string, s bus.State) {
	c.hub.mu.Lock()
	h := c.hub.nodes[id].h
	c.hub.mu.Unlock()
	h.HandleState(s)
	c.sync(id)
}

// strong starts a strong publish from node id and returns its result's
// channel; it steps until the publish is pending.
func (c *mcluster) strong(id, key string, v uint64) <-chan error {
	done := make(chan error, 1)
	b := c.nodes[id].b
	before := bus.Pending(b)
	go func() {
		_, err := b.PublishStrong(context.Background(), key, merge.Version(v), 0)
		done <- err
	}()
	eventually(c.t, "strong publish taken", func() bool { return bus.Pending(b) > before || len(done) > 0 })
	c.hub.drain(c.sync)
	return done
}
