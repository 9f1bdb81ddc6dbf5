package bus

import "sync/atomic"

// Stats are the bus's counters since New; [Bus.Stats] returns a snapshot.
type Stats struct {
	// Published counts envelopes this node broadcast (invalidations,
	// prefixes, flushes, strong ones), each once the transport's
	// Broadcast call for it has returned.
	Published uint64
	// Overflows counts publishes turned into a flush broadcast because the
	// queue was full.
	Overflows uint64
	// Applied counts remote events applied through the Applier.
	Applied uint64
	// Duplicates counts remote envelopes received twice and not applied
	// again.
	Duplicates uint64
	// Malformed counts inbound messages dropped because they did not
	// decode.
	Malformed uint64
	// Gaps counts holes detected in a peer's sequence.
	Gaps uint64
	// Retransmits counts envelopes this node sent again on request.
	Retransmits uint64
	// Repairs counts flushes made to repair (an unrecoverable gap, a
	// reconnect, a lapsed lease).
	Repairs uint64
	// Acks counts strong acks received.
	Acks uint64
	// ErrorsDropped counts errors nobody read from Errors.
	ErrorsDropped uint64
	// Lag is the largest number of envelopes this node knows a peer sent
	// that it has not received yet.
	Lag uint64
}

// counters are the live counters behind Stats.
type counters struct {
	published, overflows, applied, duplicates, malformed, gaps atomic.Uint64
	retransmits, repairs, acks, errorsDropped, lag             atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Published: c.published.Load(), Overflows: c.overflows.Load(),
		Applied: c.applied.Load(), Duplicates: c.duplicates.Load(),
		Malformed: c.malformed.Load(), Gaps: c.gaps.Load(),
		Retransmits: c.retransmits.Load(), Repairs: c.repairs.Load(),
		Acks: c.acks.Load(), ErrorsDropped: c.errorsDropped.Load(), Lag: c.lag.Load(),
	}
}
