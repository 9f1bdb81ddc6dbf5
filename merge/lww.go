package merge

import "fmt"

// LWWRegister is a last-writer-wins register on the hybrid logical clock:
// it holds the value of the write with the largest [Version], ties broken by
// the larger node id. Unlike Warp's default last-write-wins, which keeps
// whichever write reached the store last, a register keeps the write that
// was made last by its clock, whatever order writes arrive in. Its state is
// a plain value that encodes with CBOR and JSON when T does; the zero value
// is a register that was never written.
//
// Writing to Warp, register [MergeLWWRegister] for the key and pass Set
// NewLWWRegister(v, clock.Now(), id), with the writing node's clock and id.
// To make a write win over a value you read, observe its version first
// (clock.Observe(cur.Version)); Warp's node clock already observes every
// value it loads from the store.
type LWWRegister[T any] struct {
	Value   T       `json:"x" cbor:"x"`
	Version Version `json:"v" cbor:"v"`
	Node    string  `json:"n" cbor:"n"`
}

// NewLWWRegister returns a register holding v, written by node at version
// ver.
func NewLWWRegister[T any](v T, ver Version, node string) LWWRegister[T] {
	return LWWRegister[T]{Value: v, Version: ver, Node: node}
}

// Stamp returns the tag that orders r's write: its version and node.
func (r LWWRegister[T]) Stamp() Tag { return Tag{Node: r.Node, Version: r.Version} }

// Merge returns whichever of r and o was written later: the larger
// [LWWRegister.Stamp], r if they are equal. It is commutative, associative
// and idempotent provided no two different writes share a stamp, which a
// [Clock] per node id guarantees.
func (r LWWRegister[T]) Merge(o LWWRegister[T]) LWWRegister[T] {
	if o.Stamp().Compare(r.Stamp()) > 0 {
		return o
	}
	return r
}

// MergeLWWRegister is the [Func] to register with an [Engine] for
// LWWRegister keys: it keeps the later of current and incoming
// ([LWWRegister.Merge]). It refuses, with an error wrapping
// [ErrUnversioned], an incoming register with a zero Version, which would
// lose to every stored write.
func MergeLWWRegister[T any](current LWWRegister[T], exists bool, incoming LWWRegister[T]) (LWWRegister[T], error) {
	if incoming.Version == 0 {
		return current, fmt.Errorf("%w: LWWRegister written by node %q", ErrUnversioned, incoming.Node)
	}
	if !exists {
		return incoming, nil
	}
	return current.Merge(incoming), nil
}
