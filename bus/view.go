package bus

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/warpcache/warp/messages/wire"
)

// ghost is a member (node, epoch) that left the view without a Leave that
// this node saw: the node restarted, rejoined, or was expelled. A writer
// keeps waiting for it until it is provably no longer serving: its ack,
// its Leave, its heartbeat lapse, or its record stalled for expelAfter.
type ghost struct {
	Member
	seen time.Time // see memberState.seen; zero: not a member this node saw
	peer *peer     // what this node heard of (node, epoch), if anything
}

type memberKey struct {
	node  string
	epoch uint64
}

// inView reports whether (node, epoch) is a member of this node's view:
// with a Membership, a record of the latest renewal; without, a peer heard
// within PeerTimeout.
func (a *busActor) inView(node string, epoch uint64) bool {
	if !a.anchored {
		p := a.peers[node]
		return p != nil && p.epoch == epoch && p.inView()
	}
	m := a.members[node]
	return m != nil && m.Epoch == epoch
}

// view yields the members of this node's view (this node excluded), by
// node id, with their epochs: range over a.view. It allocates nothing, so
// the lease check after every actor message costs no map.
func (a *busActor) view(yield func(id string, epoch uint64) bool) {
	if !a.anchored {
		for id, p := range a.peers {
			if p.inView() && !yield(id, p.epoch) {
				return
			}
		}
		return
	}
	for id, m := range a.members {
		if !yield(id, m.Epoch) {
			return
		}
	}
}

// viewLen returns how many members the view has.
func (a *busActor) viewLen() int {
	if a.anchored {
		return len(a.members)
	}
	n := 0
	for range a.view {
		n++
	}
	return n
}

// isMember reports whether this node holds its own membership now.
func (a *busActor) isMember(now time.Time) bool {
	return !a.anchored || now.Before(a.memberUntil)
}

// onRenewed takes a renewal's result: this node's own lease from its send
// time, and the members it returned.
func (a *busActor) onRenewed(r renewed) {
	if r.epoch != a.epoch || a.leaving || a.resigning && r.err == nil {
		return // an answer for an epoch this node left or is giving up
	}
	if r.err != nil {
		if errors.Is(r.err, ErrNotMember) {
			a.lostMembership(fmt.Errorf("%w: renew: %w", ErrQuorum, r.err))
			return
		}
		a.b.report(fmt.Errorf("bus: renew membership: %w", r.err))
		return
	}
	a.memberUntil = later(a.memberUntil, r.sent.Add(a.cfg.MemberLease))
	a.publishSelf()
	next := make(map[string]*memberState, min(len(r.members), a.cfg.MaxPeers))
	leftOut := make(map[string]streamPos)
	for _, m := range a.viewOrder(r.members) {
		if m.Node == a.cfg.NodeID {
			continue
		}
		if len(next) >= a.cfg.MaxPeers {
			a.b.reject(RejectPeers, m.Node)
			leftOut[m.Node] = a.leftOut[m.Node]
			continue
		}
		old := a.members[m.Node]
		switch {
		case old != nil && old.Member == m:
			next[m.Node] = old
		default:
			next[m.Node] = &memberState{Member: m, seen: r.recv}
		}
	}
	for id, old := range a.members {
		if n := next[id]; n == nil || n.Epoch != old.Epoch {
			a.departed(old.Member, old.seen)
		}
	}
	a.members, a.leftOut = next, leftOut
	a.publishMembers()
}

// viewOrder orders the members a renewal returned for the view's MaxPeers
// places: those in the view keep theirs, new ones follow by node id. A
// member left out is not answered, so it never holds a lease; the order
// keeps the view from changing with the order the Membership lists them in.
func (a *busActor) viewOrder(ms []Member) []Member {
	if len(ms) <= a.cfg.MaxPeers {
		return ms
	}
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(x, y Member) int {
		_, xin := a.members[x.Node]
		_, yin := a.members[y.Node]
		switch {
		case xin && !yin:
			return -1
		case yin && !xin:
			return 1
		}
		return strings.Compare(x.Node, y.Node)
	})
	return ms
}

// departed handles member m leaving the view: a writer keeps waiting for it
// as a ghost until it is provably gone, and this node flushes unless it
// holds everything m sent (m left with a Leave whose watermark this node
// caught up with): m may have completed writes whose fences this node never
// saw, and once m is out of the view no answer of m's will reveal them.
func (a *busActor) departed(m Member, seen time.Time) {
	p := a.peers[m.Node]
	if p != nil && p.epoch == m.Epoch && p.left && !p.gap() {
		return
	}
	k := memberKey{m.Node, m.Epoch}
	if g := a.ghosts[k]; g != nil {
		g.seen = seen // the record's own stall clock
		return
	}
	g := &ghost{Member: m, seen: seen}
	if p != nil && p.epoch == m.Epoch {
		g.peer = p
	}
	a.ghosts[k] = g
	a.repairBecause("member " + m.Node + " left the view without a clean Leave")
}

// replaced handles the state of an epoch of a peer that a newer epoch
// replaces (the node restarted or rejoined): unless it left cleanly, it
// becomes a ghost, and this node flushes (its tail may be lost).
func (a *busActor) replaced(p *peer) {
	if p.left && !p.gap() {
		return
	}
	k := memberKey{p.id, p.epoch}
	if a.ghosts[k] != nil {
		return
	}
	g := &ghost{Member: Member{Node: p.id, Epoch: p.epoch}, peer: p}
	if m := a.members[p.id]; m != nil && m.Epoch == p.epoch {
		g.seen = m.seen
	}
	a.ghosts[k] = g
	a.repairBecause("peer " + p.id + " restarted")
}

// lostMembership turns the lease off, fails the pending strong writes, and
// asks for a new Join: this node's record is gone or was replaced.
func (a *busActor) lostMembership(err error) {
	a.memberUntil = time.Time{}
	a.repairBecause("membership lost: writers no longer wait for this node")
	a.publishSelf()
	for _, w := range a.pending {
		a.finish(w, err)
	}
	if !a.rejoining && a.ask(memberReq{rejoin: true}) {
		a.rejoining = true
	}
	a.b.report(err)
}

// onRejoined switches this node to its new epoch: peers see a restart, so
// it first tells them, with a Leave, how far its old stream went.
func (a *busActor) onRejoined(r rejoined) {
	a.rejoining = false
	if r.err == nil {
		a.resigning, a.resignAsked = false, false
	}
	if a.leaving {
		return
	}
	if r.err != nil {
		a.b.report(fmt.Errorf("bus: rejoin membership: %w", r.err))
		return
	}
	l := a.envelope(wire.OpLeave)
	l.Watermark = a.seq
	a.broadcast([]wire.Envelope{l})
	for _, w := range a.pending {
		a.finish(w, fmt.Errorf("%w: this node rejoined the cluster", ErrQuorum))
	}
	a.setEpoch(r.epoch)
	a.joinedAt = a.now()
}

// setEpoch starts a new stream under epoch.
func (a *busActor) setEpoch(epoch uint64) {
	a.epoch = epoch
	a.b.epoch.Store(epoch)
	a.publishSelf()
	a.seq = 0
	a.ring = newRing(a.cfg.RingSize)
	// Heartbeat numbers start at random: another process under this
	// node id (a misconfiguration) shares its inbox, so it receives the
	// answers to this one's heartbeats; numbered from the epochs, which
	// differ by 1 when one joined on a clock behind the other's, they
	// would match its own recent numbers and renew its lease with answers
	// meant for this one (TestSharedIDHeartbeatNumbersApart).
	a.hbNum = rand.Uint64()
	clear(a.hbSent)
}

// onExpelled takes the result of an Expel this node asked for.
func (a *busActor) onExpelled(r expelled) {
	m := a.members[r.m.Node]
	if m != nil && m.Member == r.m {
		m.expelling = false
	}
	switch {
	case r.err != nil:
		a.b.report(fmt.Errorf("bus: expel %s: %w", r.m.Node, r.err))
	case r.ok && m != nil && m.Member == r.m:
		a.cfg.Logger.Info("bus: expelled a silent member", "member", r.m.Node, "node", a.cfg.NodeID)
		delete(a.members, r.m.Node)
		a.departed(r.m, m.seen)
		a.publishMembers()
	}
}

// expelStalled asks for the Expel of every member whose record has not
// changed for expelAfter: its own membership lease has provably ended.
func (a *busActor) expelStalled(now time.Time) {
	for _, m := range a.members {
		if !m.expelling && m.stalled(now, a.cfg.expelAfter()) && a.ask(memberReq{m: m.Member}) {
			m.expelling = true
		}
	}
}

// ghostGone reports whether ghost g is provably no longer serving.
func (a *busActor) ghostGone(g *ghost, now time.Time) bool {
	switch {
	case g.peer != nil && g.peer.lapsed(now, a.cfg.lapseWait()):
		return true
	case !a.anchored:
		// Without a Membership, a peer this node never heard from is no
		// member of its view; one it heard from holds no lease resting on
		// this node's answers once the last of them is lapseWait old (a
		// replaced epoch gets none; one that never answered this node
		// would otherwise never count as lapsed, and forged epochs of one
		// id would pile up as ghosts).
		return g.peer == nil || now.Sub(g.peer.lastAnswered) >= a.cfg.lapseWait()
	default:
		// A record this node never saw was never in its view: the
		// member's join grace covers the writes that did not wait for it.
		return g.seen.IsZero() || now.Sub(g.seen) >= a.cfg.expelAfter()
	}
}

// dropGhosts forgets the ghosts that are provably gone.
func (a *busActor) dropGhosts(now time.Time) {
	for k, g := range a.ghosts {
		if a.ghostGone(g, now) {
			delete(a.ghosts, k)
		}
	}
}

// publishSelf stores this node's epoch and membership lease for Member.
func (a *busActor) publishSelf() {
	until := int64(0)
	if !a.memberUntil.IsZero() {
		until = int64(a.memberUntil.Sub(a.b.base))
	}
	a.b.self.Store(&selfMember{epoch: a.epoch, until: until})
}

// publishMembers stores the sorted view for Members.
func (a *busActor) publishMembers() {
	ids := make([]string, 0, len(a.peers))
	for id := range a.view {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	a.b.members.Store(&ids)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
