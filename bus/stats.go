package bus

import (
	"sync"
	"sync/atomic"
	"time"
)

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
	// Malformed counts inbound messages dropped on arrival: not sealed
	// under a cluster key, or not decoding (Rejected says why).
	Malformed uint64
	// Gaps counts holes detected in a peer's sequence.
	Gaps uint64
	// Retransmits counts envelopes this node sent again on request.
	Retransmits uint64
	// Repairs counts flushes made to repair (an unrecoverable gap, a
	// member gone without a clean Leave, a failed apply, a flush storm).
	Repairs uint64
	// Acks counts strong acks received.
	Acks uint64
	// ErrorsDropped counts errors nobody read from Errors.
	ErrorsDropped uint64
	// Lag is the largest number of envelopes this node knows a peer sent
	// that it has not received yet.
	Lag uint64
	// Rejected counts what the bus refused, by reason: RejectClock,
	// RejectPeers, RejectRate, RejectInbound, RejectSelf, and for a message dropped on arrival the
	// reason wire.RejectReason gives ("bad_mac", "unknown_key",
	// "truncated", "format", "malformed", "version").
	Rejected map[string]uint64
}

// Reasons for Stats.Rejected and warp_bus_rejected_total.
const (
	// RejectClock: an event's version was further ahead of this node's
	// clock than it accepts.
	RejectClock = "clock"
	// RejectPeers: a message from a new node while MaxPeers nodes are
	// known, or a member a renewal listed that the full view left out.
	RejectPeers = "peers"
	// RejectRate: a retransmit request beyond RetransmitRate.
	RejectRate = "rate"
	// RejectInbound: a received message dropped because MaxInboundBytes
	// were already waiting for the bus actor.
	RejectInbound = "inbound"
	// RejectSelf: a message under this node's own id from a newer epoch:
	// another process uses the id (each node needs one of its own).
	RejectSelf = "self"
)

// counters are the live counters behind Stats.
type counters struct {
	published, overflows, applied, duplicates, malformed, gaps atomic.Uint64
	retransmits, repairs, acks, errorsDropped, lag             atomic.Uint64

	mu       sync.Mutex // guards rejected and logged
	rejected map[string]uint64
	logged   map[[2]string]time.Time // (reason, origin) → last log line
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Published: c.published.Load(), Overflows: c.overflows.Load(),
		Applied: c.applied.Load(), Duplicates: c.duplicates.Load(),
		Malformed: c.malformed.Load(), Gaps: c.gaps.Load(),
		Retransmits: c.retransmits.Load(), Repairs: c.repairs.Load(),
		Acks: c.acks.Load(), ErrorsDropped: c.errorsDropped.Load(), Lag: c.lag.Load(),
	}
	c.mu.Lock()
	if len(c.rejected) > 0 {
		s.Rejected = make(map[string]uint64, len(c.rejected))
		for k, v := range c.rejected {
			s.Rejected[k] = v
		}
	}
	c.mu.Unlock()
	return s
}

// logEvery is how often one (reason, origin) is logged at most.
const logEvery = time.Minute

// maxLogged bounds the (reason, origin) pairs remembered for logging.
const maxLogged = 1024

// reject counts something refused for reason, from origin, and logs it at
// most once per origin and reason per minute.
func (b *Bus) reject(reason, origin string) (logged bool) {
	c := &b.stats
	now := b.cfg.Now()
	c.mu.Lock()
	if c.rejected == nil {
		c.rejected, c.logged = map[string]uint64{}, map[[2]string]time.Time{}
	}
	c.rejected[reason]++
	k := [2]string{reason, origin}
	last, seen := c.logged[k]
	log := !seen || now.Sub(last) >= logEvery
	if log {
		if len(c.logged) >= maxLogged {
			clear(c.logged)
		}
		c.logged[k] = now
	}
	c.mu.Unlock()
	if log {
		b.cfg.Logger.Warn("bus: rejected a message (logged once a minute per origin)", "reason", reason, "origin", origin, "node", b.cfg.NodeID)
	}
	return log
}
