package bus

import (
	"context"
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
		a.retransmit(p, e.Watermark, e.Ref)
	case wire.OpFlush:
		a.onRepairFlush(p, e.Watermark)
	case wire.OpLeave:
		p.left = true
		a.publishMembers()
		a.settleAll()
	}
}

// peerOf returns the state of e's origin, creating or resetting it for a
// new epoch; nil for an envelope from an older epoch of a known peer.
func (a *busActor) peerOf(e *wire.Envelope) *peer {
	p := a.peers[e.Origin]
	switch {
	case p != nil && e.Epoch < p.epoch:
		return nil
	case p == nil || e.Epoch > p.epoch:
		// A node met while this one is starting up is followed from
		// now on; one met later may have sent things this node's cache
		// missed, so it is followed from its first envelope.
		p = newPeer(e.Origin, e.Epoch, a.now().Before(a.startup))
		a.peers[e.Origin] = p
		a.restarted(e.Origin)
		a.publishMembers()
	case p.removed || p.left:
		p.removed, p.left = false, false
		a.publishMembers()
	}
	p.lastHeard = a.now()
	return p
}

// handleStream processes an envelope of p's broadcast stream (possibly a
// retransmission): apply it if new, ack it if strong.
func (a *busActor) handleStream(p *peer, e *wire.Envelope) {
	hadGap := p.gap()
	if !p.receive(e.Seq) {
		a.b.stats.duplicates.Add(1)
		if e.Strong && e.Op == wire.OpInvalidate {
			a.ack(e) // the first ack may have been lost
		}
		return
	}
	a.noteGap(p, hadGap)
	var err error
	switch e.Op {
	case wire.OpInvalidate:
		err = a.apply("invalidate", func(ctx context.Context) error {
			return a.cfg.Applier.Invalidate(ctx, e.Key, e.Version)
		})
	case wire.OpInvalidatePrefix:
		err = a.apply("invalidate prefix", func(ctx context.Context) error {
			return a.cfg.Applier.InvalidatePrefix(ctx, e.Key)
		})
	case wire.OpFlush:
		err = a.apply("flush", a.cfg.Applier.Flush)
	default:
		return // an op of a later version: its Seq is counted, nothing else
	}
	if err != nil {
		return
	}
	a.b.stats.applied.Add(1)
	if e.Strong && e.Op == wire.OpInvalidate {
		a.ack(e)
	}
}

// ack tells the writer of strong envelope e that it is applied.
func (a *busActor) ack(e *wire.Envelope) {
	if e.ReplyTo == "" {
		return
	}
	r := a.envelope(wire.OpAck)
	r.Ref, r.Version, r.Watermark = e.Seq, e.Version, e.Epoch
	a.sendTo(e.ReplyTo, r)
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

// onHeartbeat answers p's heartbeat, which renews p's lease, and notes the
// watermark it announces.
func (a *busActor) onHeartbeat(p *peer, e *wire.Envelope) {
	a.announce(p, e.Watermark)
	r := a.envelope(wire.OpHeartbeatAck)
	r.Ref, r.Watermark = e.Ref, a.seq
	p.lastAnswered = a.now() // taken before the answer leaves
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

// onHeartbeatAck renews this node's lease with respect to p: valid until
// the answered heartbeat's send time plus LeaseDuration.
func (a *busActor) onHeartbeatAck(p *peer, e *wire.Envelope) {
	a.announceLater(p, e.Watermark)
	p.answeredUs = true
	sent, ok := a.hbSent[e.Ref]
	if !ok {
		return
	}
	now := a.now()
	if !p.leaseUntil.IsZero() && !now.Before(p.leaseUntil) {
		a.repair = true // the lease lapsed before this renewal
	}
	if until := sent.Add(a.cfg.LeaseDuration); until.After(p.leaseUntil) {
		p.leaseUntil = until
	}
}

// retransmit sends p the envelopes [from, to] again. Those the ring no
// longer has (always the oldest ones) are replaced by a repair flush, sent
// first on the same route.
func (a *busActor) retransmit(p *peer, from, to uint64) {
	to = min(to, a.seq)
	if from == 0 || from > to {
		return
	}
	first := from
	for ; first <= to; first++ {
		if _, ok := a.ring.get(first); ok {
			break
		}
	}
	if first > from {
		f := a.envelope(wire.OpFlush)
		f.Watermark = first - 1
		a.sendTo(p.id, f)
	}
	var envs []wire.Envelope
	for s := first; s <= to; s++ {
		e, _ := a.ring.get(s)
		envs = append(envs, e)
	}
	if len(envs) > 0 {
		a.b.stats.retransmits.Add(uint64(len(envs)))
		a.sendTo(p.id, envs...)
	}
}

// onRepairFlush handles p's answer that it no longer has the envelopes
// through watermark: flush, then follow p from there.
func (a *busActor) onRepairFlush(p *peer, watermark uint64) {
	if watermark <= p.have {
		return
	}
	if a.apply("repair flush", a.cfg.Applier.Flush) == nil {
		a.b.stats.repairs.Add(1)
		p.skipTo(watermark)
	}
}

// stateChanged turns off the lease while disconnected and schedules a
// repair flush for after the reconnect.
func (a *busActor) stateChanged(s State) {
	a.down = s == Disconnected
	a.repair = true
	a.cfg.Logger.Info("bus: transport "+s.String(), "cluster", a.cfg.Cluster, "node", a.cfg.NodeID)
}
