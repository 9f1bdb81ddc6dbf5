package merge

import (
	"cmp"
	"errors"
)

// ErrOverflow is returned by [MergePNCounter] when adding a delta would take
// one node's count past the largest uint64.
var ErrOverflow = errors.New("merge: counter overflow")

// ErrUnversioned is returned by a CRDT merge function when the incoming
// write carries a zero [Version] where it needs one: an [ORSet] add without
// a tag version, or an [LWWRegister] written without a version. Such a write
// would collide with others or silently lose, so it is refused.
var ErrUnversioned = errors.New("merge: CRDT write without a version")

// Tag names one event uniquely across all nodes: the node that made it and
// the [Version] its [Clock] issued. A Clock never issues a Version twice, so
// tags are unique as long as every node id has its own Clock. Tags are
// ordered by Version, then by Node.
type Tag struct {
	Node    string  `json:"n" cbor:"n"`
	Version Version `json:"v" cbor:"v"`
}

// Compare returns -1, 0 or +1 as t orders before, equal to or after u.
func (t Tag) Compare(u Tag) int {
	if c := cmp.Compare(t.Version, u.Version); c != 0 {
		return c
	}
	return cmp.Compare(t.Node, u.Node)
}
