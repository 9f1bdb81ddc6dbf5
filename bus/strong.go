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
	needed   map[string]uint64 // peer id → epoch it had when needed
	acked    map[string]bool
	reply    chan strongResult
}

// startStrong broadcasts a strong invalidation and starts waiting for the
// view's acks.
func (a *busActor) startStrong(m strongReq) {
	if a.leaving {
		m.reply <- strongResult{err: fmt.Errorf("%w: strong publish", ErrClosed)}
		return
	}
	a.seq++
	e := a.envelope(wire.OpInvalidate)
	e.Seq, e.Key, e.Version, e.Strong, e.ReplyTo = a.seq, m.key, m.version, true, a.cfg.NodeID
	a.ring.put(e)
	a.broadcast([]wire.Envelope{e})
	a.b.stats.published.Add(1)
	w := &pendingWrite{
		id: m.id, seq: e.Seq, version: m.version, quorum: m.quorum, deadline: m.deadline,
		needed: make(map[string]uint64), acked: make(map[string]bool), reply: m.reply,
	}
	for id, p := range a.peers {
		if p.inView() {
			w.needed[id] = p.epoch
		}
	}
	if m.quorum > len(w.needed) {
		a.finish(w, fmt.Errorf("%w: 0 acked of %d needed: only %d live peers", ErrQuorum, m.quorum, len(w.needed)))
		return
	}
	a.pending[w.id] = w
	a.bySeq[w.seq] = w.id
	a.settle(w)
}

// onAck records p's ack of a strong write.
func (a *busActor) onAck(p *peer, e *wire.Envelope) {
	w := a.pending[a.bySeq[e.Ref]]
	if w == nil || e.Version < w.version || e.Watermark != a.b.epoch {
		return
	}
	if epoch, ok := w.needed[p.id]; ok && epoch != p.epoch {
		w.needed[p.id] = p.epoch // the ack of a restarted peer counts for its new epoch
	}
	a.b.stats.acks.Add(1)
	w.acked[p.id] = true
	a.settle(w)
}

// restarted makes pending writes wait for the new epoch of node id.
func (a *busActor) restarted(id string) {
	for _, w := range a.pending {
		if _, ok := w.needed[id]; ok {
			w.needed[id] = a.peers[id].epoch
			delete(w.acked, id)
		}
	}
}

// settleAll re-examines every pending write.
func (a *busActor) settleAll() {
	for _, w := range a.pending {
		a.settle(w)
	}
}

// settle answers w once every needed peer acked or provably lost its
// lease and at least quorum acked, or with ErrQuorum at its deadline.
func (a *busActor) settle(w *pendingWrite) {
	switch {
	case a.unresolved(w) == 0 && len(w.acked) >= w.quorum:
		a.finish(w, nil)
	case !a.now().Before(w.deadline):
		a.finish(w, a.quorumErr(w, "deadline passed"))
	}
}

// unresolved counts the needed peers that neither acked nor provably lost
// their lease.
func (a *busActor) unresolved(w *pendingWrite) int {
	now, n := a.now(), 0
	for id, epoch := range w.needed {
		p := a.peers[id]
		switch {
		case w.acked[id]:
		case p == nil || p.epoch != epoch:
			n++ // a newer epoch's ack is awaited; see restarted
		case !p.lapsed(now, a.cfg.lapseWait()):
			n++
		}
	}
	return n
}

func (a *busActor) quorumErr(w *pendingWrite, why string) error {
	return fmt.Errorf("%w: %s: %d acked of %d needed (%d peers in view, %d neither acked nor lost their lease)",
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

// leave broadcasts Leave and fails every pending write: the node stops.
func (a *busActor) leave() {
	if a.leaving {
		return
	}
	a.leaving = true
	a.broadcast([]wire.Envelope{a.envelope(wire.OpLeave)})
	for _, w := range a.pending {
		a.finish(w, fmt.Errorf("%w: strong publish", ErrClosed))
	}
}
