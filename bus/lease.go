package bus

import (
	"math"
	"time"

	"github.com/warpcache/warp/messages/wire"
)

// hbKeep is how many recent heartbeat send times are kept to match answers.
const hbKeep = 256

// tick runs the timed duties: heartbeat, gap repair, lapse detection,
// expulsion of stalled members, peer expiry (without a Membership), repair
// flush and strong-write deadlines.
func (a *busActor) tick() {
	if a.leaving {
		return
	}
	now := a.now()
	if now.Sub(a.lastHB) >= a.cfg.HeartbeatInterval {
		a.heartbeat(now)
	}
	var lag uint64
	for id, p := range a.peers {
		a.tickPeer(p, now)
		if a.inView(id, p.epoch) {
			lag = max(lag, p.high-p.have)
		}
		if !a.inView(id, p.epoch) && now.Sub(p.lastHeard) > 2*a.cfg.PeerTimeout && !a.awaited(id) {
			delete(a.peers, id)
		}
	}
	if a.anchored {
		a.expelStalled(now)
		a.b.renewOK.Store(a.mayRenew(now))
		a.askResign()
	}
	a.dropGhosts(now)
	a.b.stats.lag.Store(lag)
	a.limits.refill(now)
	a.tryRepair()
	a.settleAll()
}

// awaited reports whether a pending strong write waits for some epoch of
// node id: its peer entry is kept until none does.
func (a *busActor) awaited(id string) bool {
	for _, w := range a.pending {
		for k := range w.needed {
			if k.node == id {
				return true
			}
		}
	}
	return false
}

// heartbeat broadcasts a heartbeat carrying the watermark; its answers
// renew the lease from its send time.
func (a *busActor) heartbeat(now time.Time) {
	a.hbNum++
	a.hbSent[a.hbNum] = now
	delete(a.hbSent, a.hbNum-hbKeep)
	a.lastHB = now
	e := a.envelope(wire.OpHeartbeat)
	e.Ref, e.Watermark = a.hbNum, a.seq
	a.broadcast([]wire.Envelope{e})
}

// tickPeer asks p again for what is missing, falls back to a flush when
// asking does not help, and (without a Membership) drops p after
// PeerTimeout of silence.
func (a *busActor) tickPeer(p *peer, now time.Time) {
	if !a.anchored && p.inView() && now.Sub(p.lastHeard) > a.cfg.PeerTimeout {
		p.removed = true
		a.departed(Member{Node: p.id, Epoch: p.epoch}, time.Time{})
		a.publishMembers()
		return
	}
	a.announceDue(p, now)
	p.dropStaleRenewal(now)
	// A gap gets one tick of grace (a reordered envelope may fill it),
	// then a retransmit request every heartbeat interval; progress resets
	// the count.
	if !p.gap() || !a.mayReply(p) || now.Sub(p.gapSince) < a.cfg.tick() || now.Sub(p.lastNack) < a.cfg.HeartbeatInterval {
		return
	}
	if p.have > p.nackedAt {
		p.nacks, p.nackedAt = 0, p.have
	}
	if p.nacks < a.cfg.RetransmitTries {
		p.nacks++
		p.lastNack = now
		n := a.envelope(wire.OpNack)
		n.Watermark, n.Ref = p.have+1, p.high
		a.sendTo(p.id, n)
		return
	}
	// The origin does not answer: flush and follow it from what it
	// announced.
	if a.flush("gap flush") {
		a.b.stats.repairs.Add(1)
		p.skipTo(p.high)
	}
}

// tryRepair makes the due repair flush once the node could otherwise hold
// its lease: connected, a member, and with a fresh lease from every member
// of its view and no gap. Entries filled after the flush are newer than
// any write that did not wait for this node.
func (a *busActor) tryRepair() {
	if a.repair && !a.leaseBase().IsZero() && a.flush("repair flush") {
		if a.joined {
			a.b.stats.repairs.Add(1) // the first flush, on joining, repairs nothing
		}
		a.repair, a.joined = false, true
	}
}

// flush drops this node's cache through the Applier, at most once a
// FlushInterval: a flush asked for sooner is deferred (the lease stays off
// until tryRepair makes it), so no sender can make this node flush more
// often. It reports whether the flush was made.
func (a *busActor) flush(what string) bool {
	if !a.limits.flush(a.now()) {
		a.repairBecause(what + " deferred: one flush per FlushInterval")
		return false
	}
	return a.apply(what, a.cfg.Applier.Flush) == nil
}

// refreshLease publishes the lease deadline that LeaseValid reads: the
// earliest of the leases it depends on, or none.
func (a *busActor) refreshLease() {
	until := a.leaseBase()
	if a.repair {
		until = time.Time{}
	}
	switch {
	case until.IsZero():
		if prev := a.b.lease.Load(); prev > 0 {
			a.b.leaseEnded.Store(min(prev, max(int64(a.now().Sub(a.b.base)), 1)))
		}
		a.b.lease.Store(0)
	case until.Equal(maxTime):
		a.b.lease.Store(math.MaxInt64)
	default:
		a.b.lease.Store(max(int64(until.Sub(a.b.base)), 1))
	}
}

var maxTime = time.Unix(1<<62, 0)

// leaseBase is when this node's coherence lease ends, the due repair flush
// aside: the earliest of its own membership lease and its lease with
// respect to every member of its view; zero (no lease) while it is
// starting, disconnected, leaving, not a member, or behind some member's
// stream.
func (a *busActor) leaseBase() time.Time {
	now := a.now()
	switch {
	case a.down || a.leaving:
		return time.Time{}
	case !a.anchored && now.Before(a.startup):
		return time.Time{} // peers are still being discovered
	}
	until := maxTime
	if a.anchored {
		// memberUntil is zero until the first renewal told the members.
		if !now.Before(a.memberUntil) {
			return time.Time{}
		}
		until = a.memberUntil
	}
	for id, epoch := range a.view {
		p := a.peers[id]
		if p == nil || p.epoch != epoch || p.gap() || !now.Before(p.leaseUntil) {
			return time.Time{}
		}
		if p.leaseUntil.Before(until) {
			until = p.leaseUntil
		}
	}
	return until
}
