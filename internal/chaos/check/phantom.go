package check

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/warpcache/warp/internal/chaos/history"
)

// Phantom is a read or a final store value that no correct execution
// explains.
type Phantom struct {
	Key, Value string
	// Op is the read (nil for the store's final value).
	Op *history.Op
	// Why says what is wrong.
	Why string
}

func (p Phantom) String() string {
	where := "the store's final value"
	if p.Op != nil {
		where = fmt.Sprintf("%s read at %v", p.Op.Node, time.Duration(p.Op.Call).Round(time.Millisecond))
	}
	return fmt.Sprintf("%s %s = %q: %s", where, p.Key, p.Value, p.Why)
}

// Phantoms checks every key that starts with one of prefixes: reads and
// final (the store's values after the run, by key; keys missing from it
// are not checked) against the writes of the history, every key holding
// initial at the start.
func Phantoms(ops []history.Op, prefixes []string, initial string, final map[string]string) []Phantom {
	var out []Phantom
	for _, prefix := range prefixes {
		for key, ki := range index(ops, prefix, initial) {
			for _, r := range ki.reads {
				if why := ki.explain(r.value, r.found); why != "" {
					out = append(out, Phantom{Key: key, Value: r.value, Op: r.op, Why: why})
				}
			}
			if v, ok := final[key]; ok {
				if why := ki.explainFinal(v); why != "" {
					out = append(out, Phantom{Key: key, Value: v, Why: why})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Phantom) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// explain returns what is wrong with reading value (found) from the key,
// or "".
func (ki *keyIndex) explain(value string, found bool) string {
	if !found {
		return "not found, though the key was written before the run"
	}
	w, ok := ki.writes[value]
	switch {
	case !ok:
		return "no operation wrote this value"
	case w.failed:
		return fmt.Sprintf("its write (%s on %s) failed with ErrQuorum and must have changed nothing", w.op.Kind, w.op.Node)
	}
	return ""
}

// explainFinal returns what is wrong with value being the key's final
// value in the store, or "".
func (ki *keyIndex) explainFinal(value string) string {
	if why := ki.explain(value, true); why != "" {
		return why
	}
	w := ki.writes[value]
	if _, by, ok := ki.replacedAt(w, never); ok {
		return fmt.Sprintf("lost write: %s's %s of %q, invoked after this value's write returned, succeeded and is gone", by.op.Node, by.op.Kind, by.value)
	}
	return ""
}
