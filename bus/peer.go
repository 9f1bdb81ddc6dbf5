package bus

import "time"

// peer is what this node knows of one other node (one epoch of it). Owned
// by the actor.
type peer struct {
	id    string
	epoch uint64
	// syncFirst: set the stream position from the first sequence number
	// seen, instead of expecting 1 (this node started after the peer, so
	// what the peer sent before is no concern of this node's cache).
	syncFirst bool
	// have: every Seq ≤ have was received or covered by a flush.
	have uint64
	// above holds received Seqs > have+1, waiting for the hole below them.
	above map[uint64]struct{}
	// high is the largest Seq known to exist (received or announced).
	high uint64

	// ackHigh is a watermark from a heartbeat answer not yet announced.
	// Answers come on this node's inbox, which can overtake the broadcasts
	// they cover (two subscriptions); it is announced a tick later if the
	// broadcasts have not caught up by then (see announceLater).
	ackHigh   uint64
	ackHighAt time.Time

	gapSince time.Time // zero while there is no gap
	lastNack time.Time
	nacks    int    // retransmit requests since the stream last advanced
	nackedAt uint64 // have when nacks was last reset

	lastHeard time.Time // last message of any kind
	// lastAnswered is when this node last answered the peer's heartbeat
	// as a member of its view: the reference for proving the peer's lease
	// lapsed.
	lastAnswered time.Time
	// answeredUs: the peer answered a heartbeat of this node as a member
	// of its view, so its lease depends on this node's answers (until
	// this node leaves the membership, which ends this node's writes).
	answeredUs bool
	answerAt   time.Time // when its latest member answer arrived
	// leaseUntil is this node's lease with respect to the peer: the send
	// time of the latest heartbeat it answered as a member, plus
	// LeaseDuration, counted only once this node has received everything
	// the peer had sent when it answered.
	leaseUntil time.Time
	// renewal is an answer's lease waiting for the stream to catch up
	// with the answer's watermark.
	renewal struct {
		until time.Time
		need  uint64
	}

	// noAck: a Seq at or below it may have been covered without being
	// applied (a flush, the start of the stream, a version refused), so a
	// duplicate of it is not acked again.
	noAck uint64

	removed bool // timed out of the view (without a Membership)
	left    bool // sent Leave
}

func newPeer(id string, epoch uint64, syncFirst bool) *peer {
	return &peer{id: id, epoch: epoch, syncFirst: syncFirst, above: make(map[uint64]struct{})}
}

// sync sets the stream position when the first sequence number arrives
// from a peer this node has to catch up with only from now on: through
// seq-1 for an envelope, through seq for a watermark.
func (p *peer) sync(seq uint64) {
	if p.syncFirst {
		p.syncFirst = false
		p.have, p.high, p.noAck = seq, seq, seq
	}
}

// receive records seq and reports whether it is new. A seq more than
// window above the stream's position is reported new but not recorded: no
// retransmission can fill a hole that wide (a sender's ring holds window
// envelopes), so the gap stays until a flush covers it, and a sender that
// never fills a hole (a forged origin, which gets no retransmit requests)
// holds at most window entries here. Such a seq, received again, is
// applied again, which an invalidation or an ack allows.
func (p *peer) receive(seq, window uint64) bool {
	if p.syncFirst {
		p.sync(seq - 1)
	}
	p.high = max(p.high, seq)
	if _, dup := p.above[seq]; dup || seq <= p.have {
		return false
	}
	if seq-p.have > window {
		return true
	}
	p.above[seq] = struct{}{}
	p.advance()
	return true
}

// announce records a watermark: the peer has sent every Seq ≤ w.
func (p *peer) announce(w uint64) {
	p.sync(w)
	p.high = max(p.high, w)
}

// skipTo records that everything through seq is covered by a flush.
func (p *peer) skipTo(seq uint64) {
	p.syncFirst = false
	p.noAck = max(p.noAck, seq)
	p.have = max(p.have, seq)
	p.high = max(p.high, seq)
	for s := range p.above {
		if s <= p.have {
			delete(p.above, s)
		}
	}
	p.advance()
}

func (p *peer) advance() {
	for {
		if _, ok := p.above[p.have+1]; !ok {
			break
		}
		delete(p.above, p.have+1)
		p.have++
	}
	if !p.gap() {
		p.gapSince, p.nacks = time.Time{}, 0
	}
	p.applyRenewal()
}

// renew takes a member answer's lease, until, which counts once this node
// has every Seq ≤ need: the answer vouches only for what the peer had sent
// when it answered.
func (p *peer) renew(until time.Time, need uint64) {
	if !until.After(p.leaseUntil) {
		return
	}
	if p.have >= need && !p.syncFirst {
		p.leaseUntil = until
		return
	}
	if until.After(p.renewal.until) {
		p.renewal.until = until
	}
	p.renewal.need = max(p.renewal.need, need)
}

// applyRenewal counts the waiting renewal once the stream caught up.
func (p *peer) applyRenewal() {
	if !p.renewal.until.IsZero() && p.have >= p.renewal.need && !p.syncFirst {
		p.leaseUntil = later(p.leaseUntil, p.renewal.until)
		p.renewal.until, p.renewal.need = time.Time{}, 0
	}
}

// dropStaleRenewal forgets a waiting renewal that has expired anyway.
func (p *peer) dropStaleRenewal(now time.Time) {
	if !p.renewal.until.IsZero() && !now.Before(p.renewal.until) {
		p.renewal.until, p.renewal.need = time.Time{}, 0
	}
}

// applied reports whether the envelope with seq, received before, was
// applied (so a duplicate of it may be acked again).
func (p *peer) applied(seq uint64) bool { return seq <= p.have && seq > p.noAck }

// refused records that the envelope with seq was not applied in full.
func (p *peer) refused(seq uint64) { p.noAck = max(p.noAck, seq) }

// gap reports whether some sequence number this node knows exists has not
// arrived.
func (p *peer) gap() bool { return p.high > p.have }

// inView reports whether the peer is in the view of a bus without a
// Membership (with one, the membership decides: see busActor.inView).
func (p *peer) inView() bool { return !p.removed && !p.left }

// lapsed reports whether a writer may count the peer as having lost its
// lease at now: the peer left, or depends on this node's answers and none
// went out for lapseWait.
func (p *peer) lapsed(now time.Time, lapseWait time.Duration) bool {
	return p.left || (p.answeredUs && now.Sub(p.lastAnswered) >= lapseWait)
}
