package bus

import (
	"context"
	"errors"
	"time"

	"github.com/warpcache/warp/messages/wire"
)

// handle processes one envelope from another node.
func (a *busActor) handle(e *wire.Envelope) {
	p := a.peerOf(e)
	if p == nil {
		return
	}
	if e.Seq != 0 {
		a.handleStream(p, e)
		return
	}
	switch e.Op {
	case wire.OpHeartbeat:
		a.onHeartbeat(p, e)
	case wire.OpHeartbeatAck:
		a.onHeartbeatAck(p, e)
	case wire.OpAck:
		a.onAck(p, e)
	case wire.OpNack:
		if a.mayReply(p) {
			a.retransmit(p, e.Watermark, e.Ref)
		}
	case wire.OpFlush:
		a.onRepairFlush(p, e.Watermark)
	case wire.OpLeave:
		a.onLeave(p, e.Watermark)
	}
}

// peerOf returns the state of e's origin, creating or resetting it for a
// new epoch; nil for an envelope from an older epoch of a known peer, or
// from a new node once the peer table is full.
func (a *busActor) peerOf(e *wire.Envelope) *peer {
	p := a.peers[e.Origin]
	switch {
	case p != nil && e.Epoch < p.epoch && (a.anchored || !p.removed && !p.left):
		// An older epoch of a peer. Without a Membership an epoch is
		// the start time's wall clock, so a node restarted on a clock
		// set back has a lower one: once its old epoch left or timed
		// out, a lower epoch is that restart, followed from now on.
		return nil
	case p == nil || e.Epoch != p.epoch:
		if p == nil && len(a.peers) >= a.cfg.MaxPeers {
			a.b.reject(RejectPeers, e.Origin)
			if a.leftBehind(e) {
				// A node this one cannot follow has published more:
				// what it invalidated, and what of it was lost, cannot
				// be known.
				a.repairBecause("a node beyond MaxPeers publishes invalidations this node cannot follow")
			}
			return nil
		}
		if p != nil {
			a.replaced(p)
		}
		// A node met while this one is starting up is followed from
		// now on; one met later may have sent things this node's cache
		// missed, so it is followed from its first envelope.
		p = newPeer(e.Origin, e.Epoch, a.now().Before(a.startup))
		a.peers[e.Origin] = p
		a.publishMembers()
	case p.removed || p.left:
		if e.Op != wire.OpLeave {
			p.removed, p.left = false, false
			a.publishMembers()
		}
	}
	p.lastHeard = a.now()
	return p
}

// streamPos is how far a stream this node does not follow was seen: its
// epoch and the highest sequence number or watermark.
type streamPos struct{ epoch, high uint64 }

// leftBehind reports whether e, from a node beyond MaxPeers, shows that
// node's stream further than seen before (a new epoch, a higher Seq or
// heartbeat watermark): it published what this node missed. With a
// Membership only a member the view left out counts (an id no renewal
// listed cannot write to the store); without one, any node, tracked while
// at most MaxPeers are (beyond, every such envelope counts).
func (a *busActor) leftBehind(e *wire.Envelope) bool {
	pos := e.Seq
	if e.Op == wire.OpHeartbeat {
		pos = max(pos, e.Watermark)
	}
	if pos == 0 {
		return false
	}
	seen, ok := a.leftOut[e.Origin]
	switch {
	case !ok && a.anchored:
		return false
	case !ok && len(a.leftOut) >= a.cfg.MaxPeers:
		return true
	case e.Epoch < seen.epoch || e.Epoch == seen.epoch && pos <= seen.high:
		return false
	}
	a.leftOut[e.Origin] = streamPos{epoch: e.Epoch, high: pos}
	return true
}

// mayReply reports whether this node answers p: with a Membership, only
// members of its view are answered, so a sender that is not one cannot
// make it send anything.
func (a *busActor) mayReply(p *peer) bool { return a.inView(p.id, p.epoch) }

// handleStream processes an envelope of p's broadcast stream (possibly a
// retransmission): apply it if new, ack it if strong.
func (a *busActor) handleStream(p *peer, e *wire.Envelope) {
	hadGap := p.gap()
	if !p.receive(e.Seq, uint64(a.cfg.RingSize)) {
		a.b.stats.duplicates.Add(1)
		if e.Strong && p.applied(e.Seq) {
			a.ack(p, e) // the first ack may have been lost
		}
		return
	}
	a.noteGap(p, hadGap)
	var err error
	switch {
	case e.Op == wire.OpInvalidate && e.Release:
		err = a.apply("release", func(ctx context.Context) error {
			return a.cfg.Applier.Release(ctx, e.Key, e.Version)
		})
	case e.Op == wire.OpInvalidate && e.Fence:
		err = a.apply("fence", func(ctx context.Context) error {
			return a.cfg.Applier.Fence(ctx, e.Key, e.Version)
		})
	case e.Op == wire.OpInvalidate:
		err = a.apply("invalidate", func(ctx context.Context) error {
			return a.cfg.Applier.Invalidate(ctx, e.Key, e.Version)
		})
	case e.Op == wire.OpInvalidatePrefix && (e.Key == "" || !a.limits.prefix(a.now())):
		// A prefix that covers every key is a flush; so is one past the
		// budget of prefix scans (which the flush covers). Either goes
		// through the flush limit, as OpFlush does.
		if !a.flush("invalidate prefix") {
			return
		}
	case e.Op == wire.OpInvalidatePrefix:
		err = a.apply("invalidate prefix", func(ctx context.Context) error {
			return a.cfg.Applier.InvalidatePrefix(ctx, e.Key)
		})
	case e.Op == wire.OpFlush:
		// In a flush storm the flush this envelope asks for is deferred
		// to the end of the FlushInterval, with the lease off until then.
		if !a.flush("flush") {
			return
		}
	default:
		return // an op of a later version: its Seq is counted, nothing else
	}
	if errors.Is(err, ErrAhead) {
		a.b.reject(RejectClock, p.id)
		p.refused(e.Seq)
		return // applied without its version; a strong one is not acked
	}
	if err != nil {
		p.refused(e.Seq)
		return
	}
	a.b.stats.applied.Add(1)
	if e.Strong {
		a.ack(p, e)
	}
}

// ack tells the writer of strong envelope e, p, that it is applied. The
// ack goes to the origin, never to an address the envelope names.
func (a *busActor) ack(p *peer, e *wire.Envelope) {
	r := a.envelope(wire.OpAck)
	r.Ref, r.Version, r.Watermark = e.Seq, e.Version, e.Epoch
	a.sendTo(p.id, r)
}

// announce takes watermark w as known to exist from p, counting the gap
// it may open.
func (a *busActor) announce(p *peer, w uint64) {
	hadGap := p.gap()
	p.announce(w)
	a.noteGap(p, hadGap)
}

// noteGap counts a gap that just opened.
func (a *busActor) noteGap(p *peer, hadGap bool) {
	if !hadGap && p.gap() {
		a.b.stats.gaps.Add(1)
		p.gapSince = a.now()
	}
}

// onHeartbeat answers p's heartbeat and notes the watermark it announces.
// An answer as a member (p is in this node's view) renews p's lease and
// makes p's lease depend on this node.
func (a *busActor) onHeartbeat(p *peer, e *wire.Envelope) {
	a.announce(p, e.Watermark)
	if !a.mayReply(p) {
		return
	}
	r := a.envelope(wire.OpHeartbeatAck)
	// While this node gives up its record (Bus.Resign), it answers, but not
	// as a member: p's lease must not depend on it until it rejoined.
	r.Ref, r.Watermark, r.Member = e.Ref, a.seq, !a.resigning
	if r.Member {
		p.lastAnswered = a.now() // taken before the answer leaves
	}
	a.sendTo(p.id, r)
}

// announceLater records the watermark of a heartbeat answer. The answer
// came on this node's inbox and may have overtaken the broadcasts it
// covers, so it opens a gap only if, a tick later, they have not arrived
// (tickPeer). It is still needed: it is what reveals a lost tail of the
// peer's broadcasts while the peer's answers arrive. A peer not yet
// synced takes it at once, as the start of its stream.
func (a *busActor) announceLater(p *peer, w uint64) {
	if p.syncFirst {
		a.announce(p, w)
		return
	}
	if w > p.high && w > p.ackHigh {
		p.ackHigh, p.ackHighAt = w, a.now()
	}
}

// announceDue announces p's pending answer watermark once it is a tick
// old and the broadcasts have not caught up with it.
func (a *busActor) announceDue(p *peer, now time.Time) {
	switch {
	case p.ackHigh == 0:
	case p.ackHigh <= p.high:
		p.ackHigh = 0
	case now.Sub(p.ackHighAt) >= a.cfg.tick():
		a.announce(p, p.ackHigh)
		p.ackHigh = 0
	}
}

// onHeartbeatAck renews this node's lease with respect to p, if p answered
// as a member: valid until the answered heartbeat's send time plus
// LeaseDuration, once this node holds everything p had sent.
func (a *busActor) onHeartbeatAck(p *peer, e *wire.Envelope) {
	a.announceLater(p, e.Watermark)
	sent, ok := a.hbSent[e.Ref]
	if !ok || !e.Member {
		return
	}
	p.answeredUs, p.answerAt = true, a.now()
	p.renew(sent.Add(a.cfg.LeaseDuration), e.Watermark)
}

// retransmit sends p the envelopes [from, to] again, as many as the
// retransmit budget allows (p asks again for the rest). Those the ring no
// longer has (always the oldest ones) are replaced by a repair flush, sent
// first on the same route.
func (a *busActor) retransmit(p *peer, from, to uint64) {
	to = min(to, a.seq)
	if from == 0 || from > to {
		return
	}
	first := max(from, a.ring.oldest(a.seq))
	if first > from {
		f := a.envelope(wire.OpFlush)
		f.Watermark = first - 1
		a.sendTo(p.id, f)
	}
	if first > to {
		return
	}
	n := a.limits.retransmit(to - first + 1)
	if n < to-first+1 {
		a.b.reject(RejectRate, p.id) // cut to the budget; p asks again
	}
	if n == 0 {
		return
	}
	envs := make([]wire.Envelope, 0, n)
	for s := first; s < first+n; s++ {
		if e, ok := a.ring.get(s); ok {
			envs = append(envs, e)
		}
	}
	a.b.stats.retransmits.Add(uint64(len(envs)))
	a.sendTo(p.id, envs...)
}

// onRepairFlush handles p's answer that it no longer has the envelopes
// through watermark: flush, then follow p from there.
func (a *busActor) onRepairFlush(p *peer, watermark uint64) {
	if watermark <= p.have || watermark > p.high {
		return // nothing this node is missing; or more than p announced
	}
	if a.flush("repair flush") {
		a.b.stats.repairs.Add(1)
		p.skipTo(watermark)
	}
}

// onLeave records that p stopped serving and how far its stream went: a
// pending write stops waiting for it, and once this node holds that much
// of p's stream, p's departure needs no flush.
func (a *busActor) onLeave(p *peer, last uint64) {
	a.announce(p, last)
	p.left = true
	a.publishMembers()
	a.settleAll()
}

// stateChanged turns off the lease while disconnected. After the
// reconnect, or messages the transport dropped, the heartbeat answers'
// watermarks reveal what the peers it knows sent meanwhile, and the node
// catches up from their rings; but a node it never heard of may have
// come, written and gone meanwhile, so either also makes a flush due
// before the lease returns.
func (a *busActor) stateChanged(s State) {
	if s != Dropped {
		a.down = s == Disconnected
	}
	if s == Reconnected || s == Dropped {
		a.repairBecause("transport " + s.String() + ": a node may have written and gone meanwhile")
	}
	a.cfg.Logger.Info("bus: transport "+s.String(), "cluster", a.cfg.Cluster, "node", a.cfg.NodeID)
}
