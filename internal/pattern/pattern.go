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

// node is a radix-tree node: edge is the label from its parent.
type node[V any] struct {
	edge  string
	kids  []*node[V] // distinct first bytes of edge
	value V
	set   bool
}

func (n *node[V]) child(b byte) *node[V] {
	for _, k := range n.kids {
		if k.edge[0] == b {
			return k
		}
	}
	return nil
}

// insert adds prefix below n.
func (n *node[V]) insert(prefix string, v V) {
	for {
		if prefix == "" {
			n.value, n.set = v, true
			return
		}
		k := n.child(prefix[0])
		if k == nil {
			if n.kids == nil {
				n.kids = make([]*node[V], 0, 8)
			}
			n.kids = append(n.kids, &node[V]{edge: prefix, value: v, set: true})
			return
		}
		common := 0
		for common < len(k.edge) && common < len(prefix) && k.edge[common] == prefix[common] {
			common++
		}
		if common < len(k.edge) { // split k
			tail := &node[V]{edge: k.edge[common:], kids: k.kids, value: k.value, set: k.set}
			*k = node[V]{edge: k.edge[:common], kids: append(make([]*node[V], 0, 8), tail)}
		}
		n, prefix = k, prefix[common:]
	}
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
		t.root.insert(p.Prefix, v)
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
	for {
		if n.set {
			best, found = n.value, true
		}
		if key == "" {
			break
		}
		k := n.child(key[0])
		if k == nil || len(k.edge) > len(key) || key[:len(k.edge)] != k.edge {
			break
		}
		n, key = k, key[len(k.edge):]
	}
	return best, found
}
