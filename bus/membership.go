package bus

import (
	"context"
	"fmt"
	"time"
)

// Member is one node's record in a [Membership]: its id, the epoch it joined
// under (its bus epoch) and a counter bumped by every renewal.
type Member struct {
	Node    string
	Epoch   uint64
	Counter uint64
}

// Membership is a linearizable record of the cluster's members, kept by a
// service every node can reach (Warp's api adapts store.Membership, so the
// primary store is the service). Every method takes effect at one instant
// between its call and its return, in one order every node sees. The bus
// calls it from one goroutine of its own, never from its actor.
type Membership interface {
	// Join replaces node's record, if any, by one with counter 0 and the
	// epoch max(min, top+1), top being the largest epoch it ever returned
	// for any node (kept when records are removed), and returns that
	// epoch. So a node's epochs only grow, whatever its clock says: a
	// restart that got a smaller one than its peers remember would be
	// ignored by them.
	Join(ctx context.Context, node string, min uint64) (epoch uint64, err error)
	// Renew bumps the counter of node's record if it holds epoch, and
	// returns every member; an error wrapping [ErrNotMember] if node has no
	// record under epoch (it was expelled, or replaced by a newer epoch).
	Renew(ctx context.Context, node string, epoch uint64) ([]Member, error)
	// Expel removes m's record if it still holds m.Epoch and m.Counter,
	// once every write guarded by m that was in progress has ended, and
	// reports whether it did.
	Expel(ctx context.Context, m Member) (bool, error)
	// Leave removes node's record if it holds epoch, once every write
	// guarded by it that was in progress has ended, as Expel; nil means
	// it is gone (Bus.Resign relies on it).
	Leave(ctx context.Context, node string, epoch uint64) error
}

// memberState is what the actor knows of one member's record.
type memberState struct {
	Member
	// seen is when the actor first saw the record with this counter (the
	// receipt of that renewal's reply): the record cannot have been
	// renewed before, so the member's own lease from it ends at most
	// MemberLease·(1+ρ)/(1−ρ) after seen on this node's clock.
	seen      time.Time
	expelling bool // an Expel of this record is on its way
}

// stalled reports whether the member's own membership lease has provably
// ended: its record has not changed for expelAfter.
func (m *memberState) stalled(now time.Time, expelAfter time.Duration) bool {
	return now.Sub(m.seen) >= expelAfter
}

// Messages between the membership goroutine and the actor.
type (
	// renewed is the result of one Renew (or of the Join in New).
	renewed struct {
		epoch      uint64
		sent, recv time.Time
		members    []Member
		err        error
	}
	// rejoined carries the epoch of a Join made after the node lost its
	// record.
	rejoined struct {
		epoch uint64
		err   error
	}
	// expelled is the result of an Expel the actor asked for.
	expelled struct {
		m   Member
		ok  bool
		err error
	}
)

// memberReq asks the membership goroutine for an Expel (m set) or a new
// Join (rejoin set).
type memberReq struct {
	m      Member
	rejoin bool
	resign uint64 // give up this node's record under this epoch (Leave)
}

// resigned is the result of the Leave a resignation asked for.
type resigned struct {
	epoch uint64
	err   error
}

// membership runs the membership calls: a Renew every renewEvery, and the
// Expels and Joins the actor asks for. Calls run one at a time, each
// bounded by MemberLease (a renewal answered later than that is useless).
func (b *Bus) membership() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.renewEvery())
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.renew()
		case r := <-b.memberReqs:
			b.serve(r)
		}
	}
}

// serve runs one call the actor asked for.
func (b *Bus) serve(r memberReq) {
	switch {
	case r.rejoin:
		b.rejoin()
	case r.resign != 0:
		b.resignEpoch(r.resign)
	default:
		b.expel(r.m)
	}
}

func (b *Bus) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, b.cfg.MemberLease)
}

// renew renews this node's record and sends the actor the members, unless
// the actor found the node cut off from most of the cluster (see
// busActor.mayRenew): it then lets its record stall, so that the others
// expel it and serve again without it.
func (b *Bus) renew() {
	if !b.renewOK.Load() {
		return
	}
	ctx, cancel := b.callCtx()
	defer cancel()
	epoch := b.epoch.Load()
	sent := b.cfg.Now()
	b.lastRenew.Store(int64(sent.Sub(b.base)))
	ms, err := b.cfg.Membership.Renew(ctx, b.cfg.NodeID, epoch)
	b.root.Send(b.pid, renewed{epoch: epoch, sent: sent, recv: b.cfg.Now(), members: ms, err: err})
}

// rejoin joins again under a new epoch, after the node lost its record.
func (b *Bus) rejoin() {
	ctx, cancel := b.callCtx()
	defer cancel()
	epoch, err := b.cfg.Membership.Join(ctx, b.cfg.NodeID, max(b.epoch.Load()+1, newEpoch(time.Now())))
	b.root.Send(b.pid, rejoined{epoch: epoch, err: err})
}

// resignEpoch removes this node's record under epoch (see Bus.Resign).
func (b *Bus) resignEpoch(epoch uint64) {
	ctx, cancel := b.callCtx()
	defer cancel()
	err := b.cfg.Membership.Leave(ctx, b.cfg.NodeID, epoch)
	b.root.Send(b.pid, resigned{epoch: epoch, err: err})
}

func (b *Bus) expel(m Member) {
	ctx, cancel := b.callCtx()
	defer cancel()
	ok, err := b.cfg.Membership.Expel(ctx, m)
	b.root.Send(b.pid, expelled{m: m, ok: ok, err: err})
}

// mayRenew reports whether this node should go on renewing its membership:
// within MemberLease of joining, or while a majority of the members of its
// view, itself included, answered its heartbeats as members within the
// last MemberLease. A node cut off from the bus, one way or both, stops
// renewing and is expelled; the members that still hear each other then
// hold their leases again without it. (Safety never depends on this rule:
// it only decides who stays available.)
func (a *busActor) mayRenew(now time.Time) bool {
	if a.resigning {
		return false // the record is being given up
	}
	if now.Sub(a.joinedAt) < a.cfg.MemberLease {
		return true
	}
	// Silent for twice the expulsion wait: the others, if they could, have
	// expelled this node, so a renewal now only tells it so (and it then
	// rejoins), or finds it still a member because nobody could.
	if now.Sub(a.b.base)-time.Duration(a.b.lastRenew.Load()) >= 2*a.cfg.expelAfter() {
		return true
	}
	// A member counts as heard whatever epoch answered: the rule is about
	// this node's reach, and a member that rejoined under a newer epoch
	// (after a restart, an expulsion or a resignation) answers under that
	// one until this node's next renewal lists it. Counting only the
	// view's epoch made the other node of a pair stop renewing at such a
	// rejoin, so it could not learn the new epoch, and its membership
	// lapsed until the escape above (twice the expulsion wait).
	heard, size := 1, 1 // this node
	for id := range a.view {
		size++
		if p := a.peers[id]; p != nil && now.Sub(p.answerAt) < a.cfg.MemberLease {
			heard++
		}
	}
	return 2*heard > size
}

// ask hands a request to the membership goroutine without blocking; a
// request that does not fit is asked again at a later tick.
func (a *busActor) ask(r memberReq) bool {
	select {
	case a.b.memberReqs <- r:
		return true
	default:
		return false
	}
}

// onResign starts giving up this node's record under epoch, if that is
// still its epoch (Bus.Resign): the node stops being a member at once (no
// lease of its own, no answers as a member, no renewals) and asks the
// membership goroutine for the Leave, again at every tick until it is
// done.
func (a *busActor) onResign(epoch uint64) {
	if !a.anchored || a.leaving || epoch != a.epoch || a.resigning {
		return
	}
	a.resigning = true
	a.memberUntil = time.Time{}
	a.b.renewOK.Store(false)
	a.publishSelf()
	a.askResign()
}

// askResign asks for the Leave of the resigned epoch, once at a time.
func (a *busActor) askResign() {
	if a.resigning && !a.resignAsked && a.ask(memberReq{resign: a.epoch}) {
		a.resignAsked = true
	}
}

// onResigned takes the Leave's result: once the record is gone, the node
// has lost its membership and rejoins as after an expulsion; a failed
// Leave is asked again at the next tick. The node stays resigned until the
// Join succeeded: if the Join fails, the next tick asks for the Leave
// again (the record is gone: it succeeds at once) and so the Join.
func (a *busActor) onResigned(r resigned) {
	if r.epoch != a.epoch || !a.resigning {
		return
	}
	a.resignAsked = false
	if r.err != nil {
		a.b.report(fmt.Errorf("bus: resign membership epoch %d: %w", r.epoch, r.err))
		return
	}
	a.lostMembership(fmt.Errorf("%w: this node gave up its membership record to settle a write whose outcome its store left open", ErrQuorum))
}
