package redis

import (
	"strconv"
	"unsafe"

	"github.com/warpcache/warp/store"
)

// numLen is the width of a number for the scripts (see num).
const numLen = 20

// appendNum appends n as num formats it.
func appendNum(b []byte, n uint64) []byte {
	var d [numLen]byte
	for i := numLen - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:]...)
}

// appendWriteID appends the id of this Store's next write (see writeID).
func (s *Store[T]) appendWriteID(b []byte) []byte {
	return strconv.AppendUint(append(b, s.id...), s.seq.Add(1), 16)
}

// writeArgs are the keys and arguments of one run of write.lua. The
// arguments point into it (an *arg in an any does not allocate) and its
// numbers and write id share one string, so that a write allocates them
// together instead of once each.
type writeArgs struct {
	keys [2]string
	args [9]any
	// The script's ARGV 1 and 3 to 9.
	kind, min, check, ifVersion, fence, id, node, incarnation arg
}

// arg is a script argument held in a writeArgs. go-redis writes an *arg
// through MarshalBinary, without a copy; a hook that prints the command
// (cmd.String(), as tracing and logging hooks do) gets its text through
// String, where a *string would print as an address.
type arg string

// MarshalBinary returns the argument's bytes, sharing its memory (some are
// string literals): go-redis only copies them to the connection, and a hook
// must not modify them.
func (a *arg) MarshalBinary() ([]byte, error) {
	return unsafe.Slice(unsafe.StringData(string(*a)), len(*a)), nil
}

// String returns the argument.
func (a *arg) String() string { return string(*a) }

// newWriteArgs lays out a write of kind ("s" or "d") of the encoded value
// b to key under w for write.lua.
func (s *Store[T]) newWriteArgs(kind, key string, b []byte, w store.Write) (keys []string, args []any) {
	var buf [4*numLen + 48]byte
	nums := appendNum(buf[:0], uint64(w.Min))
	nums = appendNum(nums, uint64(w.IfVersion))
	nums = appendNum(nums, uint64(w.Fence))
	nums = appendNum(nums, w.Guard.Incarnation)
	all := string(s.appendWriteID(nums))
	a := &writeArgs{kind: arg(kind), check: arg(flag(w.Check)), node: arg(w.Guard.Node),
		min: arg(all[:numLen]), ifVersion: arg(all[numLen : 2*numLen]), fence: arg(all[2*numLen : 3*numLen]),
		incarnation: arg(all[3*numLen : 4*numLen]), id: arg(all[4*numLen:])}
	a.keys[0] = s.cfg.Prefix + key
	a.args = [9]any{&a.kind, b, &a.min, &a.check, &a.ifVersion, &a.fence, &a.id, &a.node, &a.incarnation}
	if w.Guard.IsZero() {
		return a.keys[:1], a.args[:7]
	}
	a.keys[1] = s.membersKey(w.Guard.Cluster)
	return a.keys[:], a.args[:]
}
