package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/warpcache/warp/store"
)

// membership returns s as a store.Membership, or skips the test.
func membership(t *testing.T, s store.Store[[]byte]) store.Membership {
	t.Helper()
	m, ok := s.(store.Membership)
	if !ok {
		t.Skip("store is not a store.Membership")
	}
	return m
}

func testMembership(t *testing.T, h Harness) {
	subtests(t, h, map[string]func(*testing.T, store.Store[[]byte]){
		"JoinRenew": func(t *testing.T, s store.Store[[]byte]) {
			m := membership(t, s)
			a := join(t, m, "c", "a", 5)
			if a != 5 {
				t.Fatalf("Join(a, min 5) in a new cluster = %d; want 5", a)
			}
			wantMembers(t, renew(t, m, "c", "a", a), store.Member{Node: "a", Incarnation: 5, Counter: 1})
			b := join(t, m, "c", "b", 0)
			if b != 6 {
				t.Fatalf("Join(b, min 0) after 5 = %d; want 6", b)
			}
			wantMembers(t, renew(t, m, "c", "a", a), store.Member{Node: "a", Incarnation: 5, Counter: 2}, store.Member{Node: "b", Incarnation: 6})
			wantMembers(t, renew(t, m, "c", "b", b), store.Member{Node: "a", Incarnation: 5, Counter: 2}, store.Member{Node: "b", Incarnation: 6, Counter: 1})
		},
		"IncarnationsGrow": func(t *testing.T, s store.Store[[]byte]) {
			m := membership(t, s)
			steps := []struct {
				name string
				min  uint64
				want uint64
				then func(inc uint64) // after the join
			}{
				{"First", 10, 10, nil},
				{"Rejoin", 10, 11, nil},
				{"MinAhead", 100, 100, nil},
				{"MinBehind", 3, 101, func(inc uint64) { leave(t, m, "c", "a", inc) }},
				{"AfterLeave", 1, 102, func(inc uint64) { expel(t, m, "c", store.Member{Node: "a", Incarnation: inc, Counter: 1}, true) }},
				{"AfterExpel", 1, 103, func(uint64) { join(t, m, "c", "b", 0) }},
				{"AfterOtherNode", 0, 105, nil},
			}
			prev := uint64(0)
			for _, st := range steps {
				inc := join(t, m, "c", "a", st.min)
				if inc != st.want {
					t.Fatalf("%s: Join(a, min %d) = %d; want %d", st.name, st.min, inc, st.want)
				}
				if prev != 0 {
					// The replaced incarnation is no member any more.
					ms, err := m.Renew(t.Context(), "c", "a", prev)
					wantIs(t, st.name+": Renew of the replaced incarnation", err, store.ErrNotMember)
					if got := find(ms, "a"); got != (store.Member{Node: "a", Incarnation: inc}) {
						t.Fatalf("%s: a's record = %+v; want incarnation %d, counter 0", st.name, got, inc)
					}
				}
				renew(t, m, "c", "a", inc)
				if st.then != nil {
					st.then(inc)
				}
				prev = inc
			}
		},
		"Expel": func(t *testing.T, s store.Store[[]byte]) {
			m := membership(t, s)
			inc := join(t, m, "c", "a", 1)
			join(t, m, "c", "b", 1)
			renew(t, m, "c", "a", inc)
			expel(t, m, "c", store.Member{Node: "a", Incarnation: inc, Counter: 0}, false)     // renewed since
			expel(t, m, "c", store.Member{Node: "a", Incarnation: inc + 5, Counter: 1}, false) // other incarnation
			expel(t, m, "x", store.Member{Node: "a", Incarnation: inc, Counter: 1}, false)     // other cluster
			expel(t, m, "c", store.Member{Node: "z", Incarnation: inc, Counter: 1}, false)     // never joined
			renew(t, m, "c", "a", inc)
			expel(t, m, "c", store.Member{Node: "a", Incarnation: inc, Counter: 2}, true)
			expel(t, m, "c", store.Member{Node: "a", Incarnation: inc, Counter: 2}, false)
			ms, err := m.Renew(t.Context(), "c", "a", inc)
			wantIs(t, "Renew after Expel", err, store.ErrNotMember)
			h.wantPrefix(t, "Renew after Expel", err)
			if find(ms, "a") != (store.Member{}) || find(ms, "b") == (store.Member{}) {
				t.Fatalf("Renew after Expel of a = %+v; want b only", ms)
			}
		},
		"Leave": func(t *testing.T, s store.Store[[]byte]) {
			m := membership(t, s)
			inc := join(t, m, "c", "a", 1)
			leave(t, m, "c", "a", inc+1) // other incarnation: nothing
			leave(t, m, "x", "a", inc)   // other cluster: nothing
			renew(t, m, "c", "a", inc)
			leave(t, m, "c", "a", inc)
			leave(t, m, "c", "a", inc)
			ms, err := m.Renew(t.Context(), "c", "a", inc)
			wantIs(t, "Renew after Leave", err, store.ErrNotMember)
			if len(ms) != 0 {
				t.Fatalf("Renew after Leave = %+v; want no members", ms)
			}
		},
		"Clusters": func(t *testing.T, s store.Store[[]byte]) {
			m := membership(t, s)
			one := join(t, m, "one", "a", 7)
			two := join(t, m, "two", "a", 1)
			if two != 1 {
				t.Fatalf("Join in a second cluster = %d; want 1 (incarnations are per cluster)", two)
			}
			expel(t, m, "one", store.Member{Node: "a", Incarnation: one}, true)
			wantMembers(t, renew(t, m, "two", "a", two), store.Member{Node: "a", Incarnation: 1, Counter: 1})
		},
		"MaxMembers": func(t *testing.T, s store.Store[[]byte]) {
			m := membership(t, s)
			errs := parallel(8, func(w int) error {
				for i := w; i < store.MaxMembers; i += 8 {
					if _, err := m.Join(t.Context(), "c", fmt.Sprintf("n%04d", i), 1); err != nil {
						return err
					}
				}
				return nil
			})
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			_, err := m.Join(t.Context(), "c", "extra", 1)
			wantIs(t, "Join beyond MaxMembers", err, store.ErrTooLarge)
			h.wantPrefix(t, "Join beyond MaxMembers", err)
			inc := join(t, m, "c", "n0000", 1) // a rejoin replaces a record
			ms := renew(t, m, "c", "n0000", inc)
			if len(ms) != store.MaxMembers || find(ms, "extra") != (store.Member{}) {
				t.Fatalf("Renew returned %d members; want %d, without extra", len(ms), store.MaxMembers)
			}
			leave(t, m, "c", "n0001", find(ms, "n0001").Incarnation)
			join(t, m, "c", "extra", 1)
			if ms := renew(t, m, "c", "extra", top(ms)+1); len(ms) != store.MaxMembers {
				t.Fatalf("Renew returned %d members; want %d", len(ms), store.MaxMembers)
			}
		},
	})
}

func join(t *testing.T, m store.Membership, cluster, node string, min uint64) uint64 {
	t.Helper()
	inc, err := m.Join(t.Context(), cluster, node, min)
	if err != nil {
		t.Fatalf("Join(%q, %q, %d): %v", cluster, node, min, err)
	}
	if inc < min || inc == 0 {
		t.Fatalf("Join(%q, %q, %d) = %d; want at least max(min, 1)", cluster, node, min, inc)
	}
	return inc
}

func renew(t *testing.T, m store.Membership, cluster, node string, inc uint64) []store.Member {
	t.Helper()
	ms, err := m.Renew(t.Context(), cluster, node, inc)
	if err != nil {
		t.Fatalf("Renew(%q, %q, %d): %v", cluster, node, inc, err)
	}
	return ms
}

func expel(t *testing.T, m store.Membership, cluster string, mb store.Member, want bool) {
	t.Helper()
	ok, err := m.Expel(t.Context(), cluster, mb)
	if err != nil || ok != want {
		t.Fatalf("Expel(%q, %+v) = %v, %v; want %v, nil", cluster, mb, ok, err, want)
	}
}

func leave(t *testing.T, m store.Membership, cluster, node string, inc uint64) {
	t.Helper()
	if err := m.Leave(t.Context(), cluster, node, inc); err != nil {
		t.Fatalf("Leave(%q, %q, %d): %v", cluster, node, inc, err)
	}
}

// top returns the largest incarnation in ms.
func top(ms []store.Member) uint64 {
	var n uint64
	for _, m := range ms {
		n = max(n, m.Incarnation)
	}
	return n
}

// find returns node's record in ms, or the zero Member.
func find(ms []store.Member, node string) store.Member {
	for _, m := range ms {
		if m.Node == node {
			return m
		}
	}
	return store.Member{}
}

func wantMembers(t *testing.T, got []store.Member, want ...store.Member) {
	t.Helper()
	byNode := func(a, b store.Member) int { return cmp.Compare(a.Node, b.Node) }
	got = slices.SortedFunc(slices.Values(got), byNode)
	if !slices.Equal(got, want) {
		t.Fatalf("members = %+v; want %+v", got, want)
	}
}
