package bus

import "github.com/warpcache/warp/messages/wire"

// ring keeps the last envelopes this node broadcast, by sequence number,
// for retransmission. Owned by the actor.
type ring struct {
	buf []wire.Envelope
}

func newRing(size int) *ring { return &ring{buf: make([]wire.Envelope, size)} }

// put stores e, overwriting the envelope RingSize sequence numbers older.
func (r *ring) put(e wire.Envelope) { r.buf[e.Seq%uint64(len(r.buf))] = e }

// get returns the envelope with sequence seq if the ring still has it.
func (r *ring) get(seq uint64) (wire.Envelope, bool) {
	e := r.buf[seq%uint64(len(r.buf))]
	return e, seq != 0 && e.Seq == seq
}

// oldest is the smallest sequence number the ring can still hold when last
// is the newest one put.
func (r *ring) oldest(last uint64) uint64 {
	return last - min(last, uint64(len(r.buf))) + 1
}
