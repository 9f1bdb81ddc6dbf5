package check

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/warpcache/warp/internal/chaos/history"
)

// never is the return time of a write whose effect is unknown: it may take
// effect at any time after its call.
const never = math.MaxInt64

// write is one write of one key.
type write struct {
	op         *history.Op
	value      string
	call, ret  int64 // ret is never for an unknown outcome
	failed     bool  // failed with ErrQuorum: must have changed nothing
	determined bool  // succeeded, with a known return
}

// keyIndex holds the operations on one key.
type keyIndex struct {
	writes  map[string]*write // by value written (values are unique per key)
	ordered []*write          // successful writes, by call time
	reads   []read
}

// read is one read of one key.
type read struct {
	op    *history.Op
	value string
	found bool
}

// index groups ops by key, keeping the keys that have prefix. Every key
// holds initial before the history starts.
func index(ops []history.Op, prefix, initial string) map[string]*keyIndex {
	out := make(map[string]*keyIndex)
	get := func(k string) *keyIndex {
		ki := out[k]
		if ki == nil {
			ki = &keyIndex{writes: map[string]*write{initial: {value: initial, call: -1, ret: -1, determined: true}}}
			out[k] = ki
		}
		return ki
	}
	for i := range ops {
		op := &ops[i]
		for j, k := range op.Keys {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			ki := get(k)
			switch {
			case op.Kind == history.Read && op.Status == history.OK:
				ki.reads = append(ki.reads, read{op: op, value: op.Values[j], found: true})
			case op.Kind == history.Read && op.Status == history.NotFound:
				ki.reads = append(ki.reads, read{op: op})
			case op.Writes():
				w := &write{op: op, value: op.Values[j], call: op.Call, ret: op.Return, failed: op.Status == history.Failed}
				if op.Status == history.Unknown {
					w.ret = never
				}
				w.determined = op.Status == history.OK
				ki.writes[op.Values[j]] = w
				if w.determined {
					ki.ordered = append(ki.ordered, w)
				}
			}
		}
	}
	for _, ki := range out {
		sortByCall(ki.ordered)
	}
	return out
}

func sortByCall(ws []*write) {
	slices.SortFunc(ws, func(a, b *write) int { return cmp.Compare(a.call, b.call) })
}

// replacedAt returns the earliest return of a successful write invoked
// after w returned and returned before t: from then on w's value is
// superseded in the store. ok is false if there is none.
func (ki *keyIndex) replacedAt(w *write, t int64) (at int64, by *write, ok bool) {
	at = never
	for _, w2 := range ki.ordered {
		if w2.call <= w.ret {
			continue
		}
		if w2.ret < t && w2.ret < at {
			at, by, ok = w2.ret, w2, true
		}
	}
	return at, by, ok
}
