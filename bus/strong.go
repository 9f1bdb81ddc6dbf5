package bus

import (
	"fmt"
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages/wire"
)

// pendingWrite is a strong invalidation waiting for acks or lapses.
type pendingWrite struct {
	id       uint64
	seq      uint64
	version  merge.Version
	quorum   int
	deadline time.Time
	needed   map[memberKey]struct{} // the view and the ghosts when it started
	acked    map[string]uint64      // node id → the epoch it acked from
	reply    chan strongResult
}

// startStrong broadcasts a strong invalidation and starts waiting for the
// acks of every member of the view (and every ghost not yet provably gone).
func (a *busActor) startStrong(m strongReq) {
	now := a.now()
	switch {
	case a.leaving:
		m.reply <- strongResult{err: fmt.Errorf("%w: strong publish", ErrClosed)}
		return
	case !a.isMember(now):
		m.reply <- strongResult{err: fmt.Errorf("%w: this node is not a member of the cluster now (its membership lease expired or it was expelled)", ErrQuorum)}
		return
	case a.anchored && len(a.leftOut) > 0:
		// A member this node's view leaves out is neither answered nor
		// waited for, yet its own view may answer it: it can hold a lease
		// this write would not wait for.
		m.reply <- strongResult{err: fmt.Errorf("%w: the membership lists %d members beyond MaxPeers (%d), whose leases this node can neither follow nor wait out", ErrQuorum, len(a.leftOut), a.cfg.MaxPeers)}
		return
	case len(a.pending) >= a.cfg.MaxPending:
		m.reply <- strongResult{err: fmt.Errorf("%w: %d strong publishes already waiting (MaxPending)", ErrQuorum, len(a.pending))}
		return
	}
	a.seq++
	e := a.envelope(wire.OpInvalidate)
	e.Seq, e.Key, e.Version, e.Strong, e.Fence = a.seq, m.key, m.version, true, m.fence
	a.ring.put(e)
	a.broadcast([]wire.Envelope{e})
	a.b.stats.published.Add(1)
	w := &pendingWrite{
		id: m.id, seq: e.Seq, version: m.version, quorum: m.quorum, deadline: m.deadline,
		needed: make(map[memberKey]struct{}), acked: make(map[string]uint64), reply: m.reply,
	}
	for id, epoch := range a.view {
		w.needed[memberKey{id, epoch}] = struct{}{}
	}
	for k, g := range a.ghosts {
		if !a.ghostGone(g, now) {
			w.needed[k] = struct{}{}
		}
	}
	if live := a.viewLen(); m.quorum > live {
		a.finish(w, fmt.Errorf("%w: 0 acked of %d needed: only %d live peers", ErrQuorum, m.quorum, live))
		return
	}
	a.pending[w.id] = w
	a.bySeq[w.seq] = w.id
	a.settle(w)
}

// onAck records p's ack of a strong write.
func (a *busActor) onAck(p *peer, e *wire.Envelope) {
	w := a.pending[a.bySeq[e.Ref]]
	if w == nil || e.Version < w.version || e.Watermark != a.epoch {
		return
	}
	if _, ok := w.needed[memberKey{p.id, p.epoch}]; !ok && !a.inView(p.id, p.epoch) {
		return // neither needed nor a member: it does not count for the quorum
	}
	a.b.stats.acks.Add(1)
	w.acked[p.id] = p.epoch
	a.settle(w)
}

// settleAll re-examines every pending write.
func (a *busActor) settleAll() {
	for _, w := range a.pending {
		a.settle(w)
	}
}

// settle answers w once every needed member acked or provably lost its
// lease and at least quorum acked, or with ErrQuorum at its deadline.
func (a *busActor) settle(w *pendingWrite) {
	switch {
	case a.unresolved(w) == 0 && len(w.acked) >= w.quorum:
		a.finish(w, nil)
	case !a.now().Before(w.deadline):
		a.finish(w, a.quorumErr(w, "deadline passed"))
	}
}

// unresolved counts the needed members that neither acked nor provably
// lost their lease. A member is provably not serving once: it acked, it
// left, its lease depends on this node's answers and none went out for the
// lapse wait, or it is out of the membership (expelled or replaced, which
// the membership only allows once its own lease ended; see ghostGone).
func (a *busActor) unresolved(w *pendingWrite) int {
	now, n := a.now(), 0
	for k := range w.needed {
		if a.resolved(w, k, now) {
			continue
		}
		n++
	}
	return n
}

func (a *busActor) resolved(w *pendingWrite, k memberKey, now time.Time) bool {
	if e, ok := w.acked[k.node]; ok && e == k.epoch {
		return true
	}
	if g := a.ghosts[k]; g != nil {
		return a.ghostGone(g, now)
	}
	if a.anchored && !a.inView(k.node, k.epoch) {
		return true // gone from the membership, and no ghost left: provably gone
	}
	p := a.peers[k.node]
	switch {
	case p != nil && p.epoch > k.epoch:
		// A newer epoch of the node replaced k, whose ghost is gone
		// (provably not serving), or which left cleanly; this node ignores
		// k from then on, so k cannot regain a lease that depends on it.
		return true
	case p == nil || p.epoch != k.epoch:
		return !a.anchored // never heard without a Membership: not in any view
	}
	return p.lapsed(now, a.cfg.lapseWait())
}

func (a *busActor) quorumErr(w *pendingWrite, why string) error {
	return fmt.Errorf("%w: %s: %d acked of %d needed (%d members waited for, %d neither acked nor provably stopped serving)",
		ErrQuorum, why, len(w.acked), w.quorum, len(w.needed), a.unresolved(w))
}

// cancelStrong ends a pending write whose caller stopped waiting.
func (a *busActor) cancelStrong(m strongCancel) {
	if w := a.pending[m.id]; w != nil {
		a.finish(w, fmt.Errorf("%w: %w", a.quorumErr(w, "caller gave up"), m.cause))
	}
}

// finish answers w exactly once and forgets it.
func (a *busActor) finish(w *pendingWrite, err error) {
	delete(a.pending, w.id)
	delete(a.bySeq, w.seq)
	w.reply <- strongResult{acked: len(w.acked), err: err}
}

// leave broadcasts Leave, with the last sequence number sent, and fails
// every pending write: the node stops.
func (a *busActor) leave() {
	if a.leaving {
		return
	}
	a.leaving = true
	l := a.envelope(wire.OpLeave)
	l.Watermark = a.seq
	a.broadcast([]wire.Envelope{l})
	for _, w := range a.pending {
		a.finish(w, fmt.Errorf("%w: strong publish", ErrClosed))
	}
}
