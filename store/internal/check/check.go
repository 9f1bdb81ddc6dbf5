// Package check validates the input that every store adapter checks alike:
// the versions and guard of a write, the ids and incarnations of a
// membership, and the versions and value sizes read back ([Stored],
// [StoredValue]); it also collects the guards of a commit ([Guards]) and words
// [store.ErrNotMember] ([NotMember]). Its errors carry no package prefix;
// each adapter puts its own ("memory: set \"k\": ...") in front.
package check

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

// Write checks w's versions against merge.MaxVersion and its guard.
func Write(w store.Write) error {
	if !w.Min.Valid() {
		return fmt.Errorf("min version %d > merge.MaxVersion: %w", w.Min, store.ErrInvalid)
	}
	if !w.IfVersion.Valid() {
		return fmt.Errorf("if-version %d > merge.MaxVersion: %w", w.IfVersion, store.ErrInvalid)
	}
	return Guard(w.Guard)
}

// Guard checks g: the zero Guard, or a valid cluster, node and incarnation.
func Guard(g store.Guard) error {
	if g.IsZero() {
		return nil
	}
	if err := Member(g.Cluster, g.Node, g.Incarnation); err != nil {
		return fmt.Errorf("guard: %w", err)
	}
	return nil
}

// Guards returns the distinct guards of ops, zero ones left out, sorted by
// cluster, node and incarnation; nil if no op is guarded.
func Guards[T any](ops []store.Op[T]) []store.Guard {
	var gs []store.Guard
	for _, op := range ops {
		if !op.Write.Guard.IsZero() {
			gs = append(gs, op.Write.Guard)
		}
	}
	slices.SortFunc(gs, func(a, b store.Guard) int {
		return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.Node, b.Node), cmp.Compare(a.Incarnation, b.Incarnation))
	})
	return slices.Compact(gs)
}

// NotMember is the error of a guarded write, or a renewal, whose node holds
// no record under its incarnation: it wraps store.ErrNotMember.
func NotMember(g store.Guard) error {
	return fmt.Errorf("node %q of cluster %q has no record under incarnation %d: %w", g.Node, g.Cluster, g.Incarnation, store.ErrNotMember)
}

// Member checks the cluster, node and incarnation of a membership call.
func Member(cluster, node string, incarnation uint64) error {
	if err := IDs(cluster, node); err != nil {
		return err
	}
	return Incarnation(incarnation)
}

// IDs checks a cluster id and a node id.
func IDs(cluster, node string) error {
	if err := ID("cluster", cluster); err != nil {
		return err
	}
	return ID("node", node)
}

// ID checks one cluster or node id (what says which): non-empty UTF-8
// without NUL, at most store.MaxIDLen bytes.
func ID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty %s id: %w", what, store.ErrInvalid)
	case len(id) > store.MaxIDLen:
		return fmt.Errorf("%s id of %d bytes > %d: %w", what, len(id), store.MaxIDLen, store.ErrInvalid)
	case !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0:
		return fmt.Errorf("%s id %q is not UTF-8 without NUL: %w", what, id, store.ErrInvalid)
	}
	return nil
}

// Incarnation checks an incarnation: above 0, at most store.MaxIncarnation.
func Incarnation(inc uint64) error {
	if inc == 0 || inc > store.MaxIncarnation {
		return fmt.Errorf("incarnation %d not in [1, %d]: %w", inc, uint64(store.MaxIncarnation), store.ErrInvalid)
	}
	return nil
}

// Min checks Join's min: at most store.MaxIncarnation (0 is allowed).
func Min(min uint64) error {
	if min > store.MaxIncarnation {
		return fmt.Errorf("min incarnation %d > %d: %w", min, uint64(store.MaxIncarnation), store.ErrInvalid)
	}
	return nil
}

// Next returns the incarnation Join assigns, max(min, top+1), or an error
// if it would exceed store.MaxIncarnation.
func Next(min, top uint64) (uint64, error) {
	if top >= store.MaxIncarnation {
		return 0, fmt.Errorf("incarnations exhausted (%d issued): %w", top, store.ErrInvalid)
	}
	return max(min, top+1), nil
}

// Stored checks a version read back from a store: one above
// merge.MaxVersion was not written by Warp and is not returned as a value,
// but as an error wrapping store.ErrInvalid.
func Stored(v uint64) (merge.Version, error) {
	if !merge.Version(v).Valid() {
		return 0, fmt.Errorf("stored version %d > merge.MaxVersion, not written by a store adapter: %w", v, store.ErrInvalid)
	}
	return merge.Version(v), nil
}

// StoredValue checks the size n of a value read back from a store against
// the adapter's MaxValueSize: a larger one was not written by the adapter
// under this limit and is not decoded, but reported as an error wrapping
// store.ErrInvalid.
func StoredValue(n, max int) error {
	if n > max {
		return fmt.Errorf("stored value of %d bytes > MaxValueSize %d, not written by this store: %w", n, max, store.ErrInvalid)
	}
	return nil
}

// OpName names an op's kind in messages.
func OpName(k store.OpKind) string {
	switch k {
	case store.OpSet:
		return "set"
	case store.OpDelete:
		return "delete"
	case store.OpCheck:
		return "check"
	}
	return fmt.Sprintf("op %d", k)
}

// Call returns the first of errs, else ctx's error, prefixed with the
// adapter's package name and op ("memory: join: ..."), or nil.
func Call(ctx context.Context, pkg, op string, errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %s: %w", pkg, op, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %s: %w", pkg, op, err)
	}
	return nil
}
