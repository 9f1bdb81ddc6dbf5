package bus

import (
	"context"
	"testing"
	"time"

	"github.com/warpcache/warp/messages/wire"
)

// A heartbeat answer's watermark may overtake the broadcasts it covers
// (answers come on the inbox subscription): it opens a gap only if the
// broadcasts have not caught up a tick later. So a reordering opens no
// gap, and a lost tail still does.
func TestAnswerWatermarkWaitsATick(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b, a, p := newTestActor(func() time.Time { return now })
	stream := func(seq uint64) {
		a.handleStream(p, &wire.Envelope{Origin: "b", Epoch: 1, Seq: seq, Op: wire.OpInvalidate, Key: "k"})
	}
	answer := func(w uint64) {
		a.onHeartbeatAck(p, &wire.Envelope{Origin: "b", Epoch: 1, Op: wire.OpHeartbeatAck, Watermark: w, Ref: 1})
	}
	tick := b.cfg.tick()
	for s := uint64(1); s <= 3; s++ {
		stream(s)
	}
	// The answer announces 5 before 4 and 5 arrive; they come within the tick.
	answer(5)
	if p.gap() {
		t.Fatal("an answer's watermark opened a gap at once")
	}
	stream(4)
	stream(5)
	now = now.Add(tick)
	a.tickPeer(p, now)
	if p.gap() || b.stats.gaps.Load() != 0 {
		t.Fatalf("reordered answer: gap %v, %d gaps counted; want none", p.gap(), b.stats.gaps.Load())
	}
	// The answer announces 7 and nothing more arrives: a tick later, a gap.
	answer(7)
	now = now.Add(tick - time.Nanosecond)
	a.tickPeer(p, now)
	if p.gap() {
		t.Fatal("gap opened before a tick passed")
	}
	now = now.Add(time.Nanosecond)
	a.tickPeer(p, now)
	if !p.gap() || b.stats.gaps.Load() != 1 || p.high != 7 {
		t.Fatalf("lost tail: gap %v, %d gaps, high %d; want a gap up to 7", p.gap(), b.stats.gaps.Load(), p.high)
	}
}

// newTestActor returns node "a"'s bus and actor, without a transport, on
// the clock now, and its peer "b" (epoch 1), last heard now.
func newTestActor(now func() time.Time) (*Bus, *busActor, *peer) {
	return newTestActorWith(now, nil, ApplierFuncs{})
}

// newTestActorWith is newTestActor over transport tr and applier app.
func newTestActorWith(now func() time.Time, tr Transport, app Applier) (*Bus, *busActor, *peer) {
	cfg := Config{Cluster: "c", NodeID: "a", Now: now, Transport: tr, Applier: app}.WithDefaults()
	b := &Bus{cfg: cfg, ctx: context.Background(), errs: make(chan error, 64), memberReqs: make(chan memberReq, 16)}
	b.epoch.Store(7)
	b.members.Store(new([]string))
	a := newBusActor(b, 7)
	a.repair = false
	p := newPeer("b", 1, false)
	p.lastHeard = now()
	a.peers["b"] = p
	return b, a, p
}
