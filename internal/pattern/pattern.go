// Package pattern parses registration keys and patterns and resolves a key to
// its most specific registration in time that depends on the key's length,
// never on how many patterns are registered.
//
// A registration is either an exact key ("user:42") or a prefix pattern: a
// literal prefix followed by one trailing '*' ("user:*", "*"). An exact key
// beats every pattern; among patterns the longest prefix wins.
package pattern

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed wraps every parse error.
var ErrMalformed = errors.New("pattern: malformed")

// Pattern is a parsed registration key.
type Pattern struct {
	Prefix string // the literal part
	Exact  bool   // true for an exact key, false for Prefix + "*"
}

// String returns the pattern as it was written.
func (p Pattern) String() string {
	if p.Exact {
		return p.Prefix
	}
	return p.Prefix + "*"
}

// Parse parses s. A '*' anywhere but at the end, or an empty string, is
// malformed.
func Parse(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	i := strings.IndexByte(s, '*')
	switch {
	case i < 0:
		return Pattern{Prefix: s, Exact: true}, nil
	case i == len(s)-1:
		return Pattern{Prefix: s[:i]}, nil
	default:
		return Pattern{}, fmt.Errorf("%w: %q: '*' is only allowed once, at the end", ErrMalformed, s)
	}
}

// Table maps patterns to values. A Table is immutable once built; With and
// Without return new tables, so readers need no lock.
type Table[V any] struct {
	exact map[string]V
	root  *node[V]
	all   map[Pattern]V
}

type node[V any] struct {
	next  map[byte]*node[V]
	value V
	set   bool
}

// NewTable returns an empty table.
func NewTable[V any]() *Table[V] {
	return &Table[V]{exact: map[string]V{}, root: &node[V]{}, all: map[Pattern]V{}}
}

// Get returns the value registered for exactly p.
func (t *Table[V]) Get(p Pattern) (V, bool) {
	v, ok := t.all[p]
	return v, ok
}

// Len returns the number of registrations.
func (t *Table[V]) Len() int { return len(t.all) }

// All calls fn for every registration.
func (t *Table[V]) All(fn func(Pattern, V)) {
	for p, v := range t.all {
		fn(p, v)
	}
}

// With returns a table with p mapped to v.
func (t *Table[V]) With(p Pattern, v V) *Table[V] {
	all := make(map[Pattern]V, len(t.all)+1)
	for q, w := range t.all {
		all[q] = w
	}
	all[p] = v
	return build(all)
}

// Without returns a table without p.
func (t *Table[V]) Without(p Pattern) *Table[V] {
	all := make(map[Pattern]V, len(t.all))
	for q, w := range t.all {
		if q != p {
			all[q] = w
		}
	}
	return build(all)
}

func build[V any](all map[Pattern]V) *Table[V] {
	t := &Table[V]{exact: map[string]V{}, root: &node[V]{}, all: all}
	for p, v := range all {
		if p.Exact {
			t.exact[p.Prefix] = v
			continue
		}
		n := t.root
		for i := 0; i < len(p.Prefix); i++ {
			if n.next == nil {
				n.next = map[byte]*node[V]{}
			}
			c := n.next[p.Prefix[i]]
			if c == nil {
				c = &node[V]{}
				n.next[p.Prefix[i]] = c
			}
			n = c
		}
		n.value, n.set = v, true
	}
	return t
}

// Lookup returns the value of the most specific registration matching key.
func (t *Table[V]) Lookup(key string) (V, bool) {
	if v, ok := t.exact[key]; ok {
		return v, true
	}
	var best V
	found := false
	n := t.root
	for i := 0; ; i++ {
		if n.set {
			best, found = n.value, true
		}
		if i == len(key) || n.next == nil {
			break
		}
		if n = n.next[key[i]]; n == nil {
			break
		}
	}
	return best, found
}
