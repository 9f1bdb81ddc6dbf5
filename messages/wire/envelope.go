package wire

import (
	"fmt"

	"github.com/warpcache/warp/merge"
)

// Bounds enforced by [Append] and [Decode].
const (
	// FormatVersion is the format written by [Append]; the first byte of
	// every message. Format 2 made the flags a uvarint, added Fence,
	// Release and Member, and dropped ReplyTo (an ack goes to the origin);
	// format 1 is no longer accepted.
	FormatVersion = 2
	// MaxNodeIDLen bounds [Envelope.Origin].
	MaxNodeIDLen = 128
	// MaxKeyLen bounds [Envelope.Key].
	MaxKeyLen = 64 << 10
	// MaxBatch bounds the number of envelopes in one message.
	MaxBatch = 1 << 16
)

// Op says what an [Envelope] asks for.
type Op uint8

// The ops of the format. Values are part of the wire format: never
// renumber, only append.
const (
	// OpInvalidate: drop the cached copy of Key if it is older than
	// Version. With Fence set, Version is a write's fence token: stop
	// caching Key until the token is released (an envelope with Release
	// set and the same Version) or expires. Strong ones are acked with
	// [OpAck] to the origin.
	OpInvalidate Op = 1
	// OpInvalidatePrefix: drop every cached key that starts with Key.
	OpInvalidatePrefix Op = 2
	// OpFlush: drop every cached entry. Broadcast with a Seq when a node
	// escalates (an overflowing queue); sent point to point with Seq 0 as
	// a repair, when the origin no longer holds envelopes up to Watermark.
	OpFlush Op = 3
	// OpHeartbeat: broadcast every heartbeat interval; Ref numbers the
	// heartbeat and Watermark is the last Seq the origin sent.
	OpHeartbeat Op = 4
	// OpHeartbeatAck: answer to the heartbeat numbered Ref, sent to its
	// origin; Watermark is the last Seq the answering node sent, Member
	// says the answerer holds the origin (at the heartbeat's Epoch) as a
	// member of the cluster.
	OpHeartbeatAck Op = 5
	// OpAck: the strong invalidation with Seq Ref, from the writer's
	// epoch Watermark, was applied at Version.
	OpAck Op = 6
	// OpNack: please send again the envelopes with Seq in
	// [Watermark, Ref].
	OpNack Op = 7
	// OpLeave: the origin is closing and no longer serves strong keys;
	// Watermark is the last Seq it sent.
	OpLeave Op = 8
	// OpLeaseRevoke is reserved for revoking leases on every node.
	OpLeaseRevoke Op = 9
)

var opNames = [...]string{
	OpInvalidate:       "Invalidate",
	OpInvalidatePrefix: "InvalidatePrefix",
	OpFlush:            "Flush",
	OpHeartbeat:        "Heartbeat",
	OpHeartbeatAck:     "HeartbeatAck",
	OpAck:              "Ack",
	OpNack:             "Nack",
	OpLeave:            "Leave",
	OpLeaseRevoke:      "LeaseRevoke",
}

// String returns the op's name, or "Op(n)" for an op this version does not
// know.
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Known reports whether o is an op of this version.
func (o Op) Known() bool { return o >= OpInvalidate && o <= OpLeaseRevoke }

// Envelope is one bus event. The meaning of Watermark and Ref depends on
// Op; see the Op constants.
type Envelope struct {
	// Origin is the sending node's id, 1 to [MaxNodeIDLen] bytes.
	Origin string
	// Epoch is new every time the origin's process starts.
	Epoch uint64
	// Seq is the envelope's place in the origin's broadcast stream,
	// counting from 1; 0 for point-to-point envelopes.
	Seq uint64
	// Op is what the envelope asks for; never 0.
	Op Op
	// Key is the key or prefix, at most [MaxKeyLen] bytes.
	Key string
	// Version is the written version or fence token (invalidations) or
	// the applied version (acks); at most [merge.MaxVersion].
	Version merge.Version
	// Strong asks every receiver to ack the origin once applied.
	Strong bool
	// Fence says Version is a fence token (see [OpInvalidate]).
	Fence bool
	// Release says the envelope releases the fence token Version.
	Release bool
	// Member, in a heartbeat answer, says the answerer holds the
	// heartbeat's origin as a member.
	Member bool
	// Watermark is a sequence number: the last one sent (heartbeats), the
	// first one wanted (Nack), the last one lost (repair Flush); in an
	// Ack, the epoch of the acked writer.
	Watermark uint64
	// Ref is a sequence number: the acked one (Ack), the heartbeat's
	// number (Heartbeat, HeartbeatAck), the last one wanted (Nack).
	Ref uint64
}
