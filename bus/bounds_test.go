package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	b, deliver, release := stuckActor(t, 4<<10)
	hb := inboundMsg(t, wire.Envelope{Op: wire.OpHeartbeat, Ref: 1})
	for range 4 * (4 << 10) / len(hb) { // four times the bound
		deliver(hb)
		if n := bus.Inbound(b); n > 4<<10 {
			release()
			t.Fatalf("%d bytes wait for the actor; want at most MaxInboundBytes %d", n, 4<<10)
		}
	}
	if n := b.Stats().Rejected[bus.RejectInbound]; n == 0 {
		release()
		t.Fatalf("no message dropped over the bound; stats %+v", b.Stats())
	}
	release()
	if !bus.RepairDue(b) {
		t.Fatal("no flush due after messages were dropped")
	}
}

// A message of many tiny envelopes (a bare ack is 2 bytes on the wire, 88
// decoded) counts against MaxInboundBytes as what it decodes to: once one
// waits for the busy actor, the next is dropped, where its wire bytes
// alone would have let eight of them (tens of times the bound) wait.
func TestInboundCountsDecodedEnvelopes(t *testing.T) {
	t.Parallel()
	const bound = 64 << 10
	b, deliver, release := stuckActor(t, bound)
	acks := make([]wire.Envelope, 4000)
	for i := range acks {
		acks[i].Op = wire.OpAck
	}
	m := inboundMsg(t, acks...)
	if len(m) > bound/8 {
		t.Fatalf("a message of %d acks takes %d bytes; the test wants at most %d", len(acks), len(m), bound/8)
	}
	for range 16 {
		deliver(m)
	}
	if n := b.Stats().Rejected[bus.RejectInbound]; n < 15 {
		release()
		t.Fatalf("%d of 16 messages of %d acks dropped while the actor was busy; want 15: each decodes to %d bytes, over the bound %d", n, len(acks), len(acks)*88, bound)
	}
	release()
}

// stuckActor starts a bus (MaxInboundBytes maxInbound) whose actor is held
// inside an Applier call on another goroutine, and returns deliver, which
// hands a received message to the bus, and release, which lets the actor
// go and waits for it.
func stuckActor(t *testing.T, maxInbound int) (b *bus.Bus, deliver func([]byte), release func()) {
	t.Helper()
	tr := &inboxTransport{}
	entered, let := make(chan struct{}), make(chan struct{})
	cfg := fastConfig(clusterOf(t), "r", tr, bus.ApplierFuncs{
		InvalidateFunc: func(ctx context.Context, key string, v merge.Version) error {
			if key == "stuck" {
				close(entered)
				<-let
			}
			return nil
		},
	}, nil)
	cfg.Keys, cfg.Insecure = nil, true
	cfg.MaxInboundBytes = maxInbound
	b, err := bus.New(newSystem(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	eventually(t, "the lease (and the join's flush)", b.LeaseValid)
	stuck := make(chan struct{})
	go func() { // runs the actor, which waits inside the Applier
		defer close(stuck)
		tr.h.HandleMessage(inboundMsg(t, wire.Envelope{Seq: 1, Op: wire.OpInvalidate, Key: "stuck", Version: 1}))
	}()
	<-entered
	release = sync.OnceFunc(func() {
		close(let)
		<-stuck
	})
	t.Cleanup(release) // before Close, which waits for the actor
	return b, tr.h.HandleMessage, release
}

// inboundMsg encodes envs as a message of node "w" at epoch 1.
func inboundMsg(t *testing.T, envs ...wire.Envelope) []byte {
	t.Helper()
	for i := range envs {
		envs[i].Origin, envs[i].Epoch = "w", 1
	}
	m, err := wire.Append(nil, envs...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A sender that never fills the hole at the start of its stream (a forged
// or broken origin, which no retransmit request is sent to: it is no
// member) holds at most RingSize out-of-order sequence numbers in the
// receiver, however many it sends; its envelopes are still applied.
func TestOutOfOrderBounded(t *testing.T) {
	t.Parallel()
	tr := &inboxTransport{}
	applied := 0
	cfg := fastConfig(clusterOf(t), "r", tr, bus.ApplierFuncs{
		InvalidateFunc: func(context.Context, string, merge.Version) error { applied++; return nil },
	}, nil)
	cfg.Keys, cfg.Insecure = nil, true
	cfg.RingSize = 64
	b, err := bus.New(newSystem(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	eventually(t, "the lease (and the join's flush)", b.LeaseValid)
	const sent = 4 * 64
	for seq := uint64(2); seq < 2+sent; seq++ { // 1 never comes
		tr.h.HandleMessage(inboundMsg(t, wire.Envelope{Seq: seq, Op: wire.OpInvalidate, Key: "k", Version: 1}))
	}
	bus.Sync(b)
	if n := bus.Above(b, "w"); n < 0 || n > cfg.RingSize {
		t.Fatalf("%d sequence numbers held above the hole after %d sent; want at most RingSize %d", n, sent, cfg.RingSize)
	}
	if applied != sent {
		t.Fatalf("%d of %d envelopes applied; want every one", applied, sent)
	}
}

// Prefix invalidations scan every cached key of every shard, so a node
// applies at most 1024 of them for other nodes per FlushInterval; past
// that (one message can carry 65,536), and for an empty prefix, which
// covers every key, it flushes instead, at most once a FlushInterval: the
// cache ends up as a flush leaves it, or with a flush due.
func TestPrefixInvalidationsBounded(t *testing.T) {
	t.Parallel()
	tr := &inboxTransport{}
	var prefixes, flushes atomic.Int64
	cfg := fastConfig(clusterOf(t), "r", tr, bus.ApplierFuncs{
		InvalidatePrefixFunc: func(context.Context, string) error { prefixes.Add(1); return nil },
		FlushFunc:            func(context.Context) error { flushes.Add(1); return nil },
	}, nil)
	cfg.Keys, cfg.Insecure = nil, true
	cfg.FlushInterval = time.Hour
	b, err := bus.New(newSystem(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	eventually(t, "the lease (and the join's flush)", b.LeaseValid)
	flushed := func() bool { return bus.RepairDue(b) || flushes.Load() > 1 } // the join flushed once
	tr.h.HandleMessage(inboundMsg(t, wire.Envelope{Seq: 1, Op: wire.OpInvalidatePrefix, Key: ""}))
	bus.Sync(b)
	if n := prefixes.Load(); n != 0 || !flushed() {
		t.Fatalf("an empty prefix: %d prefix scans, flushed or due %v; want a flush, not a scan", n, flushed())
	}
	envs := make([]wire.Envelope, 3000)
	for i := range envs {
		envs[i] = wire.Envelope{Seq: uint64(i + 2), Op: wire.OpInvalidatePrefix, Key: fmt.Sprint("p", i)}
	}
	tr.h.HandleMessage(inboundMsg(t, envs...))
	bus.Sync(b)
	if n := prefixes.Load(); n != 1024 {
		t.Fatalf("%d prefix invalidations applied of %d in one message; want the budget, 1024", n, len(envs))
	}
	if !flushed() {
		t.Fatal("prefix invalidations past the budget neither flushed nor left a flush due")
	}
}

// Without a Membership, the epochs of a node that keep replacing each
// other (restarts, or forged ones) become ghosts that this node waits for
// only until no lease can rest on its answers to them: they do not pile
// up. A ghost that never answered this node used to stay for good.
func TestGhostsWithoutMembershipGo(t *testing.T) {
	t.Parallel()
	tr := &inboxTransport{}
	cfg := fastConfig(clusterOf(t), "r", tr, bus.ApplierFuncs{}, nil)
	cfg.Keys, cfg.Insecure = nil, true
	b, err := bus.New(newSystem(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	eventually(t, "the lease (and the join's flush)", b.LeaseValid)
	for epoch := uint64(1); epoch <= 50; epoch++ {
		m, err := wire.Append(nil, wire.Envelope{Origin: "g", Epoch: epoch, Op: wire.OpHeartbeat, Ref: 1})
		if err != nil {
			t.Fatal(err)
		}
		tr.h.HandleMessage(m)
	}
	bus.Sync(b)
	if n := bus.Ghosts(b); n == 0 {
		t.Fatal("no ghost after 49 epochs of g were replaced; the test needs them")
	}
	eventually(t, "the ghosts of g's replaced epochs gone", func() bool { return bus.Ghosts(b) == 0 })
}

// A strong publish whose caller gave up while the bus actor is held up
// (here in an Applier call; in production a transport call) returns
// without waiting for the actor to take the cancel.
func TestGivenUpStrongPublishOutlivesNoStuckActor(t *testing.T) {
	t.Parallel()
	b, _, release := stuckActor(t, 1<<20)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := b.PublishStrong(ctx, "k", 1, 0)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, bus.ErrQuorum) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("strong publish given up while the actor is stuck: %v; want ErrQuorum and the context's error", err)
		}
	case <-time.After(10 * time.Second):
		release()
		t.Fatalf("strong publish given up after 20ms still waits for the stuck actor after 10s (returned after the release: %v)", <-done)
	}
}
