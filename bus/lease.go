package bus

import (
	"math"
	"slices"
	"time"

	"github.com/warpcache/warp/messages/wire"
)

// hbKeep is how many recent heartbeat send times are kept to match answers.
const hbKeep = 256

// tick runs the timed duties: heartbeat, gap repair, lapse detection,
// peer expiry, repair flush and strong-write deadlines.
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
		if p.inView() {
			lag = max(lag, p.high-p.have)
		}
		if p.removed && now.Sub(p.lastHeard) > 2*a.cfg.PeerTimeout && len(a.pending) == 0 {
			delete(a.peers, id)
		}
	}
	a.b.stats.lag.Store(lag)
	a.tryRepair()
	a.settleAll()
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
// asking does not help, notices a lapsed lease and drops p after
// PeerTimeout of silence.
func (a *busActor) tickPeer(p *peer, now time.Time) {
	if !p.inView() {
		return
	}
	if now.Sub(p.lastHeard) > a.cfg.PeerTimeout {
		p.removed = true
		a.publishMembers()
		return
	}
	a.announceDue(p, now)
	if !p.leaseUntil.IsZero() && !now.Before(p.leaseUntil) {
		a.repair = true
	}
	// A gap gets one tick of grace (a reordered envelope may fill it),
	// then a retransmit request every heartbeat interval; progress resets
	// the count.
	if !p.gap() || now.Sub(p.gapSince) < a.cfg.tick() || now.Sub(p.lastNack) < a.cfg.HeartbeatInterval {
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
	if a.apply("gap flush", a.cfg.Applier.Flush) == nil {
		a.b.stats.repairs.Add(1)
		p.skipTo(p.high)
	}
}

// tryRepair makes the due repair flush once the node is connected and
// holds a fresh lease with every peer and no gap: entries filled after the
// flush are newer than any write that counted this node as lapsed.
func (a *busActor) tryRepair() {
	now := a.now()
	if !a.repair || a.down || now.Before(a.startup) {
		return
	}
	for _, p := range a.peers {
		if p.inView() && (p.gap() || !now.Before(p.leaseUntil)) {
			return
		}
	}
	if a.apply("repair flush", a.cfg.Applier.Flush) == nil {
		a.b.stats.repairs.Add(1)
		a.repair = false
	}
}

// refreshLease publishes the lease deadline that LeaseValid reads: the
// earliest lease of the view, or none while starting up, disconnected,
// repairing, or with a gap.
func (a *busActor) refreshLease() {
	until := a.leaseUntil()
	if until.IsZero() {
		a.b.lease.Store(0)
		return
	}
	if until.Equal(maxTime) {
		a.b.lease.Store(math.MaxInt64)
		return
	}
	a.b.lease.Store(max(int64(until.Sub(a.b.base)), 1))
}

var maxTime = time.Unix(1<<62, 0)

func (a *busActor) leaseUntil() time.Time {
	if a.down || a.repair || a.leaving || a.now().Before(a.startup) {
		return time.Time{}
	}
	until := maxTime
	for _, p := range a.peers {
		if !p.inView() {
			continue
		}
		if p.gap() || p.leaseUntil.IsZero() {
			return time.Time{}
		}
		if p.leaseUntil.Before(until) {
			until = p.leaseUntil
		}
	}
	return until
}

// publishMembers stores the sorted view for Members.
func (a *busActor) publishMembers() {
	var ids []string
	for id, p := range a.peers {
		if p.inView() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	a.b.members.Store(&ids)
}
