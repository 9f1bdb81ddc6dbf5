package merge

import (
	"fmt"
	"slices"
)

// ORSet is an add-wins observed-remove set of elements of type E. Every add
// carries a unique [Tag]; a remove deletes the tags it has seen of its
// element, so an add that a remove did not see survives it (add wins). Its
// state is a plain value that encodes with CBOR and JSON when E does; the
// zero value is the empty set. Methods never modify their receiver.
//
// Adds holds the live adds, sorted by tag; Removed holds the tags of removed
// adds (tombstones), sorted. The methods keep them so; [ORSet.Merge] also
// accepts states whose slices are out of order and puts them in order.
//
// Writing to Warp, register [MergeORSet] for the key and pass Set either a
// delta or a whole state; both are idempotent, so repeating a Set is safe:
//
//   - to add e, a delta built from the empty set:
//     ORSet[E]{}.Add(e, Tag{Node: id, Version: clock.Now()});
//   - to remove e, the state you read with e removed: cur.Remove(e). It
//     removes the adds of e you read; an add you did not read survives.
type ORSet[E comparable] struct {
	Adds    []Tagged[E] `json:"a,omitempty" cbor:"a,omitempty"`
	Removed []Tag       `json:"r,omitempty" cbor:"r,omitempty"`
}

// Tagged is one add of an [ORSet]: the element and the tag it was added
// with.
type Tagged[E comparable] struct {
	Tag  Tag `json:"t" cbor:"t"`
	Elem E   `json:"e" cbor:"e"`
}

// Add returns s with e added under tag, which must be unique (see [Tag]);
// adding under a tag that was removed already changes nothing.
func (s ORSet[E]) Add(e E, tag Tag) ORSet[E] {
	return s.Merge(ORSet[E]{Adds: []Tagged[E]{{Tag: tag, Elem: e}}})
}

// Remove returns s without e: every add of e in s becomes a tombstone. Adds
// of e that s has not seen are not affected.
func (s ORSet[E]) Remove(e E) ORSet[E] {
	var dead []Tag
	for _, a := range s.Adds {
		if a.Elem == e {
			dead = append(dead, a.Tag)
		}
	}
	return s.Merge(ORSet[E]{Removed: dead})
}

// Contains reports whether e is in s.
func (s ORSet[E]) Contains(e E) bool {
	for _, a := range s.Adds {
		if a.Elem == e {
			return true
		}
	}
	return false
}

// Elements returns the elements of s, each once, in the order of their
// oldest live add.
func (s ORSet[E]) Elements() []E {
	seen := make(map[E]struct{}, len(s.Adds))
	out := make([]E, 0, len(s.Adds))
	for _, a := range s.Adds {
		if _, ok := seen[a.Elem]; !ok {
			seen[a.Elem] = struct{}{}
			out = append(out, a.Elem)
		}
	}
	return out
}

// Len returns the number of elements in s.
func (s ORSet[E]) Len() int { return len(s.Elements()) }

// Merge returns the join of s and o: the adds of both, less the tombstones
// of both. It is commutative, associative and idempotent, so replicas
// converge whatever order states are exchanged in; the result shares no
// slice with s or o. Its cost is linear in the sizes of s and o when their slices
// are sorted, as the methods keep them.
func (s ORSet[E]) Merge(o ORSet[E]) ORSet[E] {
	s, o = s.sorted(), o.sorted()
	removed := unionTags(s.Removed, o.Removed)
	return ORSet[E]{Adds: mergeAdds(s.Adds, o.Adds, removed), Removed: removed}
}

// MergeORSet is the [Func] to register with an [Engine] for ORSet keys: it
// returns the join of current and incoming ([ORSet.Merge]), so incoming
// may be a delta or a whole state. It refuses, with an error wrapping
// [ErrUnversioned], an incoming add whose tag has a zero Version.
func MergeORSet[E comparable](current ORSet[E], _ bool, incoming ORSet[E]) (ORSet[E], error) {
	for _, a := range incoming.Adds {
		if a.Tag.Version == 0 {
			return ORSet[E]{}, fmt.Errorf("%w: ORSet add by node %q", ErrUnversioned, a.Tag.Node)
		}
	}
	return current.Merge(incoming), nil
}

// sorted returns s with both slices sorted by tag, copying only the slices
// that are not.
func (s ORSet[E]) sorted() ORSet[E] {
	byTag := func(a, b Tagged[E]) int { return a.Tag.Compare(b.Tag) }
	if !slices.IsSortedFunc(s.Adds, byTag) {
		s.Adds = slices.Clone(s.Adds)
		slices.SortStableFunc(s.Adds, byTag)
	}
	if !slices.IsSortedFunc(s.Removed, Tag.Compare) {
		s.Removed = slices.Clone(s.Removed)
		slices.SortFunc(s.Removed, Tag.Compare)
	}
	return s
}

// unionTags returns the sorted union of sorted a and b, without duplicates.
func unionTags(a, b []Tag) []Tag {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make([]Tag, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		var next Tag
		if len(b) == 0 || (len(a) > 0 && a[0].Compare(b[0]) <= 0) {
			next, a = a[0], a[1:]
		} else {
			next, b = b[0], b[1:]
		}
		if n := len(out); n == 0 || out[n-1] != next {
			out = append(out, next)
		}
	}
	return out
}

// mergeAdds returns the sorted union of sorted a and b, without duplicates
// and without the adds whose tag is in sorted removed.
func mergeAdds[E comparable](a, b []Tagged[E], removed []Tag) []Tagged[E] {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make([]Tagged[E], 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		var next Tagged[E]
		if len(b) == 0 || (len(a) > 0 && a[0].Tag.Compare(b[0].Tag) <= 0) {
			next, a = a[0], a[1:]
		} else {
			next, b = b[0], b[1:]
		}
		for len(removed) > 0 && removed[0].Compare(next.Tag) < 0 {
			removed = removed[1:]
		}
		if (len(removed) > 0 && removed[0] == next.Tag) || hasAdd(out, next) {
			continue
		}
		out = append(out, next)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// hasAdd reports whether the adds at the end of out with next's tag include
// next.
func hasAdd[E comparable](out []Tagged[E], next Tagged[E]) bool {
	for i := len(out) - 1; i >= 0 && out[i].Tag == next.Tag; i-- {
		if out[i].Elem == next.Elem {
			return true
		}
	}
	return false
}
