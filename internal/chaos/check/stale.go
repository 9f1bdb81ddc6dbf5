package check

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/warpcache/warp/internal/chaos/history"
)

// StaleRead is a read that returned a value replaced more than the bound
// before the read was invoked.
type StaleRead struct {
	Key, Value string
	// Read is the read; By the write that had replaced Value, Staleness
	// how long before the read's invocation By returned.
	Read, By  *history.Op
	ByValue   string
	Staleness time.Duration
}

func (s StaleRead) String() string {
	return fmt.Sprintf("%s read %s = %q at %v, %v after %s's write of %q (invoked after %q was written) returned",
		s.Read.Node, s.Key, s.Value, time.Duration(s.Read.Call).Round(time.Millisecond),
		s.Staleness.Round(time.Millisecond), s.By.Node, s.ByValue, s.Value)
}

// Staleness is the result of [Stale].
type Staleness struct {
	// Max is the largest staleness seen (within the bound or not).
	Max time.Duration
	// Over lists the reads staler than the bound, stalest first.
	Over []StaleRead
}

// Stale judges every read of the keys that start with prefix (each holding
// initial at the start) against bound. Reads of values nobody wrote, or
// whose write failed, are left to [Phantoms].
func Stale(ops []history.Op, prefix, initial string, bound time.Duration) Staleness {
	var s Staleness
	for key, ki := range index(ops, prefix, initial) {
		for _, r := range ki.reads {
			w, ok := ki.writes[r.value]
			if !r.found || !ok || w.failed {
				continue
			}
			at, by, ok := ki.replacedAt(w, r.op.Call)
			if !ok {
				continue
			}
			d := time.Duration(r.op.Call - at)
			s.Max = max(s.Max, d)
			if d > bound {
				s.Over = append(s.Over, StaleRead{Key: key, Value: r.value, Read: r.op, By: by.op, ByValue: by.value, Staleness: d})
			}
		}
	}
	slices.SortFunc(s.Over, func(a, b StaleRead) int { return cmp.Compare(b.Staleness, a.Staleness) })
	return s
}
