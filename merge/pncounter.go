package merge

import (
	"fmt"
	"maps"
	"math"
	"math/bits"
)

// PNCounter is a counter that goes up and down: P holds what each node
// added and N what each node subtracted, so the value is ΣP − ΣN. A
// PNCounter is a plain value that encodes with CBOR and JSON; the zero value
// is a counter at 0. Methods never modify their receiver.
//
// A PNCounter is used in two ways:
//
//   - As a delta written to Warp. Register [MergePNCounter] for the key and
//     pass Set the change, built from the zero counter:
//     PNCounter{}.Inc(node, n). MergePNCounter adds it to the stored counter
//     under Warp's compare-and-swap, so concurrent writers on any number of
//     nodes lose no increment. Never pass Set a counter you read and then
//     incremented: it would be added again.
//   - As a state-based CRDT between replicas that each hold a whole counter
//     (two stores, an offline copy): [PNCounter.Merge] takes the per-node
//     maximum, and replicas that exchange states in any order converge.
type PNCounter struct {
	P map[string]uint64 `json:"p,omitempty" cbor:"p,omitempty"`
	N map[string]uint64 `json:"n,omitempty" cbor:"n,omitempty"`
}

// Inc returns c with node's additions grown by n; PNCounter{}.Inc(node, n)
// is the delta to write to Warp. A count that would pass the largest uint64
// stays there.
func (c PNCounter) Inc(node string, n uint64) PNCounter {
	return PNCounter{P: bump(c.P, node, n), N: maps.Clone(c.N)}
}

// Dec returns c with node's subtractions grown by n; PNCounter{}.Dec(node, n)
// is the delta to write to Warp. A count that would pass the largest uint64
// stays there.
func (c PNCounter) Dec(node string, n uint64) PNCounter {
	return PNCounter{P: maps.Clone(c.P), N: bump(c.N, node, n)}
}

// Value returns ΣP − ΣN. The sums are taken modulo 2⁶⁴, so the result is
// exact whenever the true value fits in an int64, however large P and N are.
func (c PNCounter) Value() int64 {
	var v uint64
	for _, n := range c.P {
		v += n
	}
	for _, n := range c.N {
		v -= n
	}
	return int64(v)
}

// Merge returns the state-based join of c and o: for every node, the larger
// of its two counts. Merge is commutative, associative and idempotent, so
// replicas converge whatever order states are exchanged in. It is not what
// a Warp write does: see [MergePNCounter].
func (c PNCounter) Merge(o PNCounter) PNCounter {
	return PNCounter{P: join(c.P, o.P), N: join(c.N, o.N)}
}

// MergePNCounter is the [Func] to register with an [Engine] for PNCounter
// keys: it returns current with incoming added to it, node by node, and
// treats incoming as a delta (see [PNCounter]). Warp runs it once per
// successful compare-and-swap, on the value actually stored, so every delta
// is counted exactly once, whichever node writes it. It returns an error
// wrapping [ErrOverflow] if a node's count would pass the largest uint64.
// It never modifies its arguments.
func MergePNCounter(current PNCounter, _ bool, incoming PNCounter) (PNCounter, error) {
	p, err := add(current.P, incoming.P)
	if err != nil {
		return PNCounter{}, err
	}
	n, err := add(current.N, incoming.N)
	if err != nil {
		return PNCounter{}, err
	}
	return PNCounter{P: p, N: n}, nil
}

// bump returns a copy of m with m[node] grown by n, saturating.
func bump(m map[string]uint64, node string, n uint64) map[string]uint64 {
	out := maps.Clone(m)
	if out == nil {
		out = make(map[string]uint64, 1)
	}
	s, carry := bits.Add64(out[node], n, 0)
	if carry != 0 {
		s = math.MaxUint64
	}
	out[node] = s
	return out
}

// join returns the per-key maximum of a and b in a new map; nil if both are
// empty.
func join(a, b map[string]uint64) map[string]uint64 {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make(map[string]uint64, max(len(a), len(b)))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = max(out[k], v)
	}
	return out
}

// add returns the per-key sum of a and b in a new map (nil if both are
// empty), or an error wrapping [ErrOverflow] if a sum overflows.
func add(a, b map[string]uint64) (map[string]uint64, error) {
	if len(a) == 0 && len(b) == 0 {
		return nil, nil
	}
	out := make(map[string]uint64, max(len(a), len(b)))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		s, carry := bits.Add64(out[k], v, 0)
		if carry != 0 {
			return nil, fmt.Errorf("%w: node %q", ErrOverflow, k)
		}
		out[k] = s
	}
	return out, nil
}
