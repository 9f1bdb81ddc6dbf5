package bus

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages/wire"
)

// An ack names the writer's epoch: one meant for an earlier process of the
// same node id (a write of the same sequence number before a restart)
// never counts; the ack that names this process's epoch does.
func TestAckFromEarlierEpochNeverCounts(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b, a, p := newTestActor(func() time.Time { return now }) // b's epoch is 7
	reply := make(chan strongResult, 1)
	w := &pendingWrite{id: 1, seq: 5, version: 9, quorum: 1, deadline: now.Add(time.Second),
		needed: map[memberKey]struct{}{{"b", 1}: {}}, acked: map[string]uint64{}, reply: reply}
	a.pending[w.id], a.bySeq[w.seq] = w, w.id

	a.onAck(p, &wire.Envelope{Origin: "b", Epoch: 1, Op: wire.OpAck, Ref: 5, Version: 9, Watermark: 6})
	if _, ok := w.acked["b"]; ok || b.stats.acks.Load() != 0 || len(reply) != 0 {
		t.Fatalf("an ack naming the writer's earlier epoch counted: acked %v, %d acks, %d replies", ok, b.stats.acks.Load(), len(reply))
	}
	a.onAck(p, &wire.Envelope{Origin: "b", Epoch: 1, Op: wire.OpAck, Ref: 5, Version: 9, Watermark: 7})
	select {
	case res := <-reply:
		if res.err != nil || res.acked != 1 {
			t.Fatalf("after the ack naming this epoch: %+v; want the write done with 1 ack", res)
		}
	default:
		t.Fatal("the ack naming this process's epoch did not count")
	}
}

// sendCounter is a transport that counts the messages sent to each inbox
// and drops them.
type sendCounter struct{ sent map[string]int }

func (c *sendCounter) Open(string, string, Handler) error { return nil }
func (c *sendCounter) Broadcast([]byte) error             { return nil }
func (c *sendCounter) Send(node string, _ []byte) error   { c.sent[node]++; return nil }
func (c *sendCounter) Close() error                       { return nil }

// A strong envelope received twice is applied once and acked both times:
// the first ack may have been lost, and the writer waits for one.
func TestDuplicateStrongEnvelopeIsAckedAgain(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tr := &sendCounter{sent: map[string]int{}}
	applied := 0
	app := ApplierFuncs{InvalidateFunc: func(context.Context, string, merge.Version) error { applied++; return nil }}
	_, a, p := newTestActorWith(func() time.Time { return now }, tr, app)
	e := wire.Envelope{Origin: "b", Epoch: 1, Seq: 1, Op: wire.OpInvalidate, Key: "k", Version: 3, Strong: true}
	for range 2 {
		env := e
		a.handleStream(p, &env)
	}
	if applied != 1 || tr.sent["b"] != 2 {
		t.Fatalf("a strong envelope received twice: applied %d times, %d acks to its writer; want 1 and 2", applied, tr.sent["b"])
	}
}

// Only members of the view are answered: a retransmit request or a
// heartbeat from a node outside it gets nothing back (no retransmission,
// no answer), while the same from a member gets both.
func TestOnlyMembersAreAnswered(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tr := &sendCounter{sent: map[string]int{}}
	b, a, _ := newTestActorWith(func() time.Time { return now }, tr, ApplierFuncs{})
	a.anchored = true
	a.members["b"] = &memberState{Member: Member{Node: "b", Epoch: 1}}
	a.publish([]pubItem{{op: wire.OpInvalidate, key: "k1", version: 1}, {op: wire.OpInvalidate, key: "k2", version: 2}})
	for _, from := range []string{"x", "b"} {
		a.handle(&wire.Envelope{Origin: from, Epoch: 1, Op: wire.OpNack, Watermark: 1, Ref: 2})
		a.handle(&wire.Envelope{Origin: from, Epoch: 1, Op: wire.OpHeartbeat, Ref: 1})
	}
	if tr.sent["x"] != 0 || tr.sent["b"] != 2 || b.stats.retransmits.Load() != 2 {
		t.Fatalf("sent %d messages to the non-member x and %d to the member b, %d envelopes retransmitted; want 0, 2 (a retransmission, an answer) and 2",
			tr.sent["x"], tr.sent["b"], b.stats.retransmits.Load())
	}
}

// A gap gets exactly RetransmitTries retransmit requests, one a heartbeat
// interval, before the node gives up on the origin and flushes.
func TestGapFlushesAfterRetransmitTries(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tr := &sendCounter{sent: map[string]int{}}
	flushes := 0
	app := ApplierFuncs{FlushFunc: func(context.Context) error { flushes++; return nil }}
	_, a, p := newTestActorWith(func() time.Time { return now }, tr, app)
	for _, tries := range []int{1, 3} {
		tr.sent["b"], flushes = 0, 0
		a.cfg.RetransmitTries = tries
		a.announce(p, p.high+5) // five envelopes of b's never arrive
		for range 10 * tries {
			if flushes > 0 {
				break
			}
			now = now.Add(a.cfg.HeartbeatInterval)
			a.tick()
		}
		if tr.sent["b"] != tries || flushes != 1 || p.gap() {
			t.Fatalf("RetransmitTries %d: %d requests to b, %d flushes, gap %v; want %d requests, then 1 flush closing the gap", tries, tr.sent["b"], flushes, p.gap(), tries)
		}
		now = now.Add(a.cfg.FlushInterval) // the next flush may come at once
	}
}

// What the bus refuses is counted every time and logged at most once a
// minute per reason and origin: a flood of forged messages costs one log
// line per origin, not one per message.
func TestRejectLogsOncePerMinutePerOrigin(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b, _, _ := newTestActor(func() time.Time { return now })
	var out bytes.Buffer
	b.cfg.Logger = slog.New(slog.NewTextHandler(&out, nil))
	lines := func() int { return strings.Count(out.String(), "rejected a message") }
	for range 100 {
		b.reject("bad_mac", "x")
	}
	b.reject("bad_mac", "y")
	b.reject(RejectRate, "x")
	if n, got := lines(), b.Stats().Rejected; n != 3 || got["bad_mac"] != 101 || got[RejectRate] != 1 {
		t.Fatalf("%d log lines, counts %v; want 3 lines (x and y for bad_mac, x for rate) and every rejection counted", n, got)
	}
	now = now.Add(59 * time.Second)
	b.reject("bad_mac", "x")
	if n := lines(); n != 3 {
		t.Fatalf("%d log lines 59 s later; want still 3", n)
	}
	now = now.Add(time.Second)
	b.reject("bad_mac", "x")
	if n := lines(); n != 4 {
		t.Fatalf("%d log lines a minute later; want 4", n)
	}
}
