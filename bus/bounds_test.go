package bus_test

import (
	"context"
	"errors"
	"testing"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages/wire"
)

// MaxPending bounds the strong publishes waiting for acks: with two
// waiting on a silent member, a third fails with ErrQuorum at once.
func TestMaxPending(t *testing.T) {
	t.Parallel()
	c := newMClusterWith(t, func(cfg *bus.Config) { cfg.MaxPending = 2 }, "a", "b")
	c.cut("b", true, true)
	w1, w2 := c.strong("a", "k1", 1), c.strong("a", "k2", 2)
	if n := bus.Pending(c.nodes["a"].b); n != 2 {
		t.Fatalf("%d strong publishes pending; want 2", n)
	}
	if err := <-c.strong("a", "k3", 3); !errors.Is(err, bus.ErrQuorum) {
		t.Fatalf("a third strong publish over MaxPending: got %v; want ErrQuorum at once", err)
	}
	c.cut("b", false, false)
	for _, done := range []<-chan error{w1, w2} {
		for len(done) == 0 {
			c.step(c.cfg.HeartbeatInterval)
		}
		if err := <-done; err != nil {
			t.Fatalf("a pending publish after the heal: %v", err)
		}
	}
}

// RetransmitRate bounds what a node resends a second, to all requesters:
// a peer that missed 100 envelopes gets 10 a second (a token bucket, so a
// little at every request), and asks again for the rest.
func TestRetransmitRate(t *testing.T) {
	t.Parallel()
	c := newMClusterWith(t, func(cfg *bus.Config) { cfg.RetransmitRate = 10 }, "a", "b")
	a, b := c.nodes["a"].b, c.nodes["b"]
	c.cut("b", true, false) // b misses what a broadcasts
	keys := publishKeys(a, "k", 100)
	eventually(t, "the publishes broadcast", func() bool { return a.Stats().Published >= 100 })
	c.hub.drain(c.sync)
	c.cut("b", false, false)
	for range 10 { // a second
		c.step(c.cfg.HeartbeatInterval)
	}
	if got := a.Stats().Retransmits; got > 20 {
		t.Fatalf("%d envelopes retransmitted within a second; want at most twice RetransmitRate 10 (a full bucket, then a second's refill)", got)
	}
	if a.Stats().Rejected[bus.RejectRate] == 0 {
		t.Fatalf("no retransmit request counted as over the rate: a %+v, b %+v", a.Stats(), b.b.Stats())
	}
	c.until("every envelope retransmitted, a second's budget at a time", 200, func() bool {
		for k, v := range keys {
			if b.app.Version(k) != v {
				return false
			}
		}
		return true
	})
	if n := a.Stats().Retransmits; n < 100 || b.app.Flushes > 1 {
		t.Fatalf("%d envelopes retransmitted in all, %d flushes on b; want the 100 missed, and no flush but the join", n, b.app.Flushes)
	}
}

// inboxTransport hands the test the bus's handler, so the test delivers
// messages itself, from goroutines of its own.
type inboxTransport struct{ h bus.Handler }

func (c *inboxTransport) Open(_, _ string, h bus.Handler) error { c.h = h; return nil }
func (c *inboxTransport) Broadcast([]byte) error                { return nil }
func (c *inboxTransport) Send(string, []byte) error             { return nil }
func (c *inboxTransport) Close() error                          { return nil }

// While one delivery runs a slow Applier call inside the bus actor, the
// messages other deliveries hand over wait for the actor, out of reach of
// the transport's own pending limits: MaxInboundBytes bounds them, what
// goes beyond is dropped and counted, and a flush is due once the actor is
// free (what was dropped is lost).
func TestInboundBytesBounded(t *testing.T) {
	t.Parallel()
	tr := &inboxTransport{}
	entered, release := make(chan struct{}), make(chan struct{})
	cfg := fastConfig(clusterOf(t), "r", tr, bus.ApplierFuncs{
		InvalidateFunc: func(ctx context.Context, key string, v merge.Version) error {
			if key == "stuck" {
				close(entered)
				<-release
			}
			return nil
		},
	}, nil)
	cfg.Keys, cfg.Insecure = nil, true
	cfg.MaxInboundBytes = 4 << 10
	b, err := bus.New(newSystem(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	eventually(t, "the lease (and the join's flush)", b.LeaseValid)
	msg := func(e wire.Envelope) []byte {
		e.Origin, e.Epoch = "w", 1
		m, err := wire.Append(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	stuck := make(chan struct{})
	go func() { // runs the actor, which waits inside the Applier
		defer close(stuck)
		tr.h.HandleMessage(msg(wire.Envelope{Seq: 1, Op: wire.OpInvalidate, Key: "stuck", Version: 1}))
	}()
	<-entered
	hb := msg(wire.Envelope{Op: wire.OpHeartbeat, Ref: 1})
	for range 4 * cfg.MaxInboundBytes / len(hb) { // four times the bound
		tr.h.HandleMessage(hb)
		if n := bus.Inbound(b); n > int64(cfg.MaxInboundBytes) {
			close(release)
			t.Fatalf("%d bytes wait for the actor; want at most MaxInboundBytes %d", n, cfg.MaxInboundBytes)
		}
	}
	if n := b.Stats().Rejected[bus.RejectInbound]; n == 0 {
		close(release)
		t.Fatalf("no message dropped over the bound; stats %+v", b.Stats())
	}
	close(release)
	<-stuck
	if !bus.RepairDue(b) {
		t.Fatal("no flush due after messages were dropped")
	}
}
