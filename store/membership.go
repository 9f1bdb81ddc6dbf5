package store

import "context"

// Member is one node's record in a cluster's membership.
type Member struct {
	// Node is the node's id.
	Node string
	// Incarnation tells a node's memberships apart: every Join of a node
	// id gets a larger one.
	Incarnation uint64
	// Counter is bumped by every renewal, so that a reader can tell that
	// a member renewed since it last looked.
	Counter uint64
}

// Limits of a [Membership]'s input; a call beyond them fails with
// [ErrInvalid].
const (
	// MaxMembers bounds the members one cluster may hold: a Join beyond
	// it fails with [ErrTooLarge], and Renew never returns more.
	MaxMembers = 1024
	// MaxIDLen is the longest cluster or node id, in bytes. An id is
	// non-empty UTF-8 without NUL, so that every adapter can store it
	// as text.
	MaxIDLen = 256
	// MaxIncarnation is the largest incarnation (and Join's largest min):
	// 2^63-1, so that it fits a signed 64-bit integer.
	MaxIncarnation = 1<<63 - 1
)

// Guard makes a write conditional on its writer's membership: with Node
// set, a write (or every op of a commit) applies only if the record of
// Node in Cluster exists and holds Incarnation, checked atomically with the
// write; otherwise it fails with [ErrNotMember] and writes nothing. The
// zero Guard checks nothing; any other Guard needs a valid Cluster and
// Node (see [MaxIDLen]) and an Incarnation above 0, else the write fails
// with [ErrInvalid].
type Guard struct {
	Cluster     string
	Node        string
	Incarnation uint64
}

// IsZero reports whether g is the zero Guard, which checks nothing.
func (g Guard) IsZero() bool { return g == Guard{} }

// Membership is implemented by stores that keep a cluster's membership
// beside the data, so that the store itself can refuse the write of a node
// that is no longer a member ([Write].Guard). Warp's bus anchors its
// coherence leases in it: a node serves linearizable keys from its cache
// only while it is a member, and a writer stops waiting for a member only
// once that member has acked, or is provably no longer serving.
//
// The protocol a caller follows: Join, then Renew often (each
// renewal bumps the member's counter and returns every member). A member
// whose counter has not moved for longer than its lease, as seen by some
// other member on that member's own monotonic clock, is Expelled with a
// compare-and-swap on the counter it saw: a renewal that lands after the
// expulsion fails with ErrNotMember, so the member learns it is out.
//
// Every method is linearizable: its effect happens at one instant between
// its call and its return, in one order that every caller sees.
type Membership interface {
	// Join makes node a member of cluster: it replaces node's record, if
	// any, by one with counter 0 and the incarnation max(min, top+1),
	// where top is the largest incarnation the store has issued in
	// cluster (0 for a new cluster), and returns that incarnation. The
	// store keeps top when records are removed, so incarnations of a node
	// id only grow, whatever the clocks do: a process that restarts, or
	// rejoins after it was expelled or left, gets a larger one than the
	// node ever had (max(min, old+1) at least), and the writes of its
	// older incarnations are refused from then on: Join, like Expel,
	// returns only after every write guarded by the replaced record has
	// ended. It fails with [ErrTooLarge] if node has no record and
	// cluster already holds MaxMembers, and with [ErrInvalid] if the
	// incarnation would exceed MaxIncarnation.
	Join(ctx context.Context, cluster, node string, min uint64) (incarnation uint64, err error)
	// Renew adds 1 to the counter of node's record if the record holds
	// incarnation, and returns every member of cluster (node's renewed
	// record included), at most MaxMembers, in no particular order. If
	// node has no record under incarnation, it returns the members and an
	// error wrapping ErrNotMember. If cluster holds more than MaxMembers
	// records, which no Join writes, it fails with ErrTooLarge rather
	// than list some: a member left out of the list would be one no node
	// waits for.
	Renew(ctx context.Context, cluster, node string, incarnation uint64) ([]Member, error)
	// Expel removes m's record if it still holds m.Incarnation and
	// m.Counter, and reports whether it did. It returns only after every
	// write guarded by m that was in progress has ended: once Expel
	// returned, a write guarded by m either was applied before or fails
	// with ErrNotMember.
	Expel(ctx context.Context, cluster string, m Member) (bool, error)
	// Leave removes node's record if it holds incarnation; it is Expel
	// without the counter. Like Expel, it returns nil only after every
	// write guarded by that record that was in progress has ended, also
	// when the record is already gone or being removed by an earlier
	// call that gave up waiting: a node settling a write whose outcome
	// the store left open asks again until Leave returns nil, and then
	// takes the write to be applied or never to be.
	Leave(ctx context.Context, cluster, node string, incarnation uint64) error
}
