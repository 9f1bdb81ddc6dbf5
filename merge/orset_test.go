package merge_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/warpcache/warp/merge"
)

func tag(node string, v merge.Version) merge.Tag { return merge.Tag{Node: node, Version: v} }

func setEqual(a, b merge.ORSet[string]) bool {
	return slices.Equal(a.Adds, b.Adds) && slices.Equal(a.Removed, b.Removed)
}

// randSet draws a set from a fixed universe of tags, each of which always
// carries the same element, as unique tags guarantee.
func randSet(r *rand.Rand) merge.ORSet[string] {
	var s merge.ORSet[string]
	for range r.IntN(8) {
		t := tag(nodes[r.IntN(len(nodes))], merge.Version(1+r.IntN(20)))
		if r.IntN(3) == 0 {
			s = s.Merge(merge.ORSet[string]{Removed: []merge.Tag{t}})
		} else {
			s = s.Add(elemOf(t), t)
		}
	}
	return s
}

// elemOf is the element a test adds under t: four elements, so an element
// often has several tags.
func elemOf(t merge.Tag) string { return fmt.Sprint("e", (uint64(t.Version)+uint64(len(t.Node)))%4) }

func TestORSetOps(t *testing.T) {
	t.Parallel()
	s := merge.ORSet[string]{}
	tests := []struct {
		name string
		s    merge.ORSet[string]
		want []string
	}{
		{"empty", s, []string{}},
		{"add", s.Add("x", tag("a", 1)), []string{"x"}},
		{"add twice", s.Add("x", tag("a", 1)).Add("x", tag("b", 2)), []string{"x"}},
		{"same add twice", s.Add("x", tag("a", 1)).Add("x", tag("a", 1)), []string{"x"}},
		{"order of oldest add", s.Add("y", tag("a", 5)).Add("x", tag("a", 2)).Add("y", tag("b", 1)), []string{"y", "x"}},
		{"remove", s.Add("x", tag("a", 1)).Add("y", tag("a", 2)).Remove("x"), []string{"y"}},
		{"remove every add", s.Add("x", tag("a", 1)).Add("x", tag("b", 2)).Remove("x"), []string{}},
		{"remove absent", s.Add("x", tag("a", 1)).Remove("z"), []string{"x"}},
		{"re-add after remove", s.Add("x", tag("a", 1)).Remove("x").Add("x", tag("a", 3)), []string{"x"}},
		{"add under removed tag", s.Add("x", tag("a", 1)).Remove("x").Add("x", tag("a", 1)), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.s.Elements(); !slices.Equal(got, tt.want) {
				t.Errorf("Elements() = %v; want %v", got, tt.want)
			}
			if got := tt.s.Len(); got != len(tt.want) {
				t.Errorf("Len() = %d; want %d", got, len(tt.want))
			}
			for _, e := range []string{"x", "y", "z"} {
				if got, want := tt.s.Contains(e), slices.Contains(tt.want, e); got != want {
					t.Errorf("Contains(%q) = %t; want %t", e, got, want)
				}
			}
		})
	}
}

// TestORSetAddWins: a remove deletes only the adds it has seen, so an add
// concurrent with it survives, in whichever order they merge.
func TestORSetAddWins(t *testing.T) {
	t.Parallel()
	base := merge.ORSet[string]{}.Add("x", tag("a", 1))
	removed := base.Remove("x")           // node a, seeing tag a/1
	readded := base.Add("x", tag("b", 2)) // node b, concurrently
	for _, got := range []merge.ORSet[string]{removed.Merge(readded), readded.Merge(removed)} {
		if !got.Contains("x") {
			t.Errorf("%v does not contain x; want the concurrent add to win", got)
		}
	}
	if got := readded.Merge(removed).Remove("x"); got.Contains("x") {
		t.Errorf("%v contains x after a remove that saw every add", got)
	}
}

func TestORSetMergeSortsInput(t *testing.T) {
	t.Parallel()
	unsorted := merge.ORSet[string]{
		Adds:    []merge.Tagged[string]{{Tag: tag("b", 3), Elem: "y"}, {Tag: tag("a", 1), Elem: "x"}, {Tag: tag("a", 1), Elem: "x"}},
		Removed: []merge.Tag{tag("c", 9), tag("b", 3), tag("c", 9)},
	}
	want := merge.ORSet[string]{}.Add("x", tag("a", 1)).Add("y", tag("b", 3)).Remove("y").Merge(merge.ORSet[string]{Removed: []merge.Tag{tag("c", 9)}})
	if got := (merge.ORSet[string]{}).Merge(unsorted); !setEqual(got, want) {
		t.Errorf("Merge = %v; want %v", got, want)
	}
}

func TestORSetMethodsLeaveReceiver(t *testing.T) {
	t.Parallel()
	s := merge.ORSet[string]{}.Add("x", tag("a", 1)).Add("y", tag("a", 2))
	want := merge.ORSet[string]{Adds: slices.Clone(s.Adds)}
	_ = s.Add("z", tag("a", 3))
	_ = s.Remove("x")
	_ = s.Merge(merge.ORSet[string]{Removed: []merge.Tag{tag("a", 2)}})
	if !setEqual(s, want) {
		t.Errorf("s = %v after use; want %v", s, want)
	}
}

func TestMergeORSet(t *testing.T) {
	t.Parallel()
	cur := merge.ORSet[string]{}.Add("x", tag("a", 1))
	tests := []struct {
		name     string
		incoming merge.ORSet[string]
		want     []string
		wantErr  error
	}{
		{"add delta", merge.ORSet[string]{}.Add("y", tag("b", 2)), []string{"x", "y"}, nil},
		{"remove state", cur.Remove("x"), []string{}, nil},
		{"stale state", merge.ORSet[string]{}, []string{"x"}, nil},
		{"unversioned add", merge.ORSet[string]{}.Add("y", merge.Tag{Node: "b"}), nil, merge.ErrUnversioned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := merge.MergeORSet(cur, true, tt.incoming)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v; want %v", err, tt.wantErr)
			}
			if err == nil && !slices.Equal(got.Elements(), tt.want) {
				t.Errorf("Elements() = %v; want %v", got.Elements(), tt.want)
			}
		})
	}
}

func TestORSetMergeLaws(t *testing.T) {
	t.Parallel()
	checkLaws(t, randSet, merge.ORSet[string].Merge, setEqual)
}

func TestORSetReplicasConverge(t *testing.T) {
	t.Parallel()
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			clocks := []merge.Version{0, 0, 0}
			op := func(r *rand.Rand, i int, s merge.ORSet[string]) merge.ORSet[string] {
				e := fmt.Sprint("e", r.IntN(6))
				if r.IntN(3) == 0 {
					return s.Remove(e)
				}
				clocks[i]++
				return s.Add(e, tag(nodes[i], clocks[i]))
			}
			final := converge(t, seed, merge.ORSet[string]{}, op, merge.ORSet[string].Merge, setEqual)
			t.Logf("converged on %v with %d tombstones", final.Elements(), len(final.Removed))
		})
	}
}

// TestORSetThroughWarp runs Warp's merge path on three nodes, each adding
// 300 elements of its own as deltas, removing every third one by writing
// back the state it read with the element removed (by the time that write
// lands, others have added more), and now and then writing back an old
// snapshot whole. The store ends with exactly the elements that were added
// and not removed: stale states neither lose adds nor bring removed
// elements back.
func TestORSetThroughWarp(t *testing.T) {
	t.Parallel()
	const perNode = 300
	eng := merge.NewEngine[merge.ORSet[string]]()
	if err := eng.Register("tags:*", merge.MergeORSet[string]); err != nil {
		t.Fatal(err)
	}
	var (
		s    casStore[merge.ORSet[string]]
		wg   sync.WaitGroup
		want []string
	)
	yield := func(int) { runtime.Gosched() }
	for _, node := range nodes {
		for i := range perNode {
			if i%3 != 0 {
				want = append(want, fmt.Sprint(node, "-", i))
			}
		}
		clock := merge.NewClock(nil, 0)
		wg.Go(func() {
			var snapshot merge.ORSet[string]
			write := func(v merge.ORSet[string]) bool {
				_, err := writeMerged(eng, "tags:t", &s, v, yield)
				if err != nil {
					t.Error(err)
				}
				return err == nil
			}
			for i := range perNode {
				e := fmt.Sprint(node, "-", i)
				if !write(merge.ORSet[string]{}.Add(e, merge.Tag{Node: node, Version: clock.Now()})) {
					return
				}
				if i%3 == 0 {
					cur, _, _ := s.get() // the writer reads its own write
					if !write(cur.Remove(e)) {
						return
					}
				}
				switch i % 7 {
				case 0:
					snapshot, _, _ = s.get()
				case 4:
					if !write(snapshot) {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	got, _, _ := s.get()
	slices.Sort(want)
	elems := got.Elements()
	slices.Sort(elems)
	if !slices.Equal(elems, want) {
		t.Errorf("%d elements; want %d\n got %v\nwant %v", len(elems), len(want), elems, want)
	}
}

// FuzzORSetMerge checks the merge laws on sets built from the fuzzer's
// bytes: each byte pair adds or removes one of eight elements on a node;
// tags come from one counter, so they are unique across the three sets.
func FuzzORSetMerge(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5}, []byte{6, 7, 1, 1}, []byte{})
	f.Add([]byte{1, 1, 0, 1}, []byte{0, 1, 3, 1}, []byte{0, 2, 0, 2, 1, 2})
	f.Fuzz(func(t *testing.T, x, y, z []byte) {
		var next merge.Version
		build := func(b []byte) merge.ORSet[string] {
			var s merge.ORSet[string]
			for ; len(b) >= 2; b = b[2:] {
				e := fmt.Sprint("e", b[1]%8)
				if b[0]&1 == 1 {
					s = s.Remove(e)
					continue
				}
				next++
				s = s.Add(e, tag(nodes[int(b[0]>>1)%len(nodes)], next))
			}
			return s
		}
		a, b, c := build(x), build(y), build(z)
		if !setEqual(a.Merge(b), b.Merge(a)) {
			t.Fatalf("not commutative: %v, %v", a, b)
		}
		if !setEqual(a.Merge(b).Merge(c), a.Merge(b.Merge(c))) {
			t.Fatalf("not associative: %v, %v, %v", a, b, c)
		}
		if !setEqual(a.Merge(a), a) {
			t.Fatalf("not idempotent: %v", a)
		}
		for _, e := range a.Elements() {
			if !a.Merge(b).Contains(e) && !slices.ContainsFunc(b.Removed, func(t merge.Tag) bool {
				return slices.ContainsFunc(a.Adds, func(ad merge.Tagged[string]) bool { return ad.Tag == t })
			}) {
				t.Fatalf("%q vanished from %v ⊔ %v without a tombstone", e, a, b)
			}
		}
	})
}

// bigSet returns a set of n live elements and n/4 tombstones whose tags
// interleave with those of sets of other seeds.
func bigSet(n int, seed uint64) merge.ORSet[string] {
	r := rand.New(rand.NewPCG(seed, 0))
	var s merge.ORSet[string]
	for i := range n + n/4 {
		s = s.Add(fmt.Sprint("e", r.IntN(4*n)), tag(nodes[seed%3], merge.Version(2*i+1)))
	}
	for i := 0; i < n/4; i++ {
		s = s.Remove(s.Adds[r.IntN(len(s.Adds))].Elem)
	}
	return s
}

func benchORSet(b *testing.B, n int, f func(a, b merge.ORSet[string]) merge.ORSet[string]) {
	x, y := bigSet(n, 1), bigSet(n, 2)
	b.ReportAllocs()
	for b.Loop() {
		_ = f(x, y)
	}
}

func BenchmarkORSetMerge(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("size=", n), func(b *testing.B) { benchORSet(b, n, merge.ORSet[string].Merge) })
	}
}

// BenchmarkMergeORSet is one Warp write: an add delta joined to a set of n
// elements.
func BenchmarkMergeORSet(b *testing.B) {
	delta := merge.ORSet[string]{}.Add("new", tag("a", 1<<40))
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("size=", n), func(b *testing.B) {
			benchORSet(b, n, func(cur, _ merge.ORSet[string]) merge.ORSet[string] {
				out, _ := merge.MergeORSet(cur, true, delta)
				return out
			})
		})
	}
}
