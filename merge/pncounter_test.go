package merge_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/warpcache/warp/merge"
)

var nodes = []string{"a", "b", "c"}

// pnEqual reports whether a and b hold the same counts, a missing node
// counting as 0.
func pnEqual(a, b merge.PNCounter) bool {
	return countsEqual(a.P, b.P) && countsEqual(a.N, b.N)
}

func countsEqual(a, b map[string]uint64) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func randPN(r *rand.Rand) merge.PNCounter {
	var c merge.PNCounter
	for range r.IntN(6) {
		if r.IntN(2) == 0 {
			c = c.Inc(nodes[r.IntN(len(nodes))], r.Uint64N(100))
		} else {
			c = c.Dec(nodes[r.IntN(len(nodes))], r.Uint64N(100))
		}
	}
	return c
}

func TestPNCounterOps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    merge.PNCounter
		want int64
	}{
		{"zero", merge.PNCounter{}, 0},
		{"inc", merge.PNCounter{}.Inc("a", 3), 3},
		{"inc twice", merge.PNCounter{}.Inc("a", 3).Inc("a", 4), 7},
		{"inc and dec on two nodes", merge.PNCounter{}.Inc("a", 3).Dec("b", 5), -2},
		{"dec", merge.PNCounter{}.Dec("a", 9), -9},
		{"sums past uint64", merge.PNCounter{}.Inc("a", math.MaxUint64).Inc("b", 2).Dec("c", math.MaxUint64), 2},
		{"min int64", merge.PNCounter{}.Dec("a", 1<<63), math.MinInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.c.Value(); got != tt.want {
				t.Errorf("Value() = %d; want %d", got, tt.want)
			}
		})
	}
}

func TestPNCounterIncSaturates(t *testing.T) {
	t.Parallel()
	c := merge.PNCounter{}.Inc("a", math.MaxUint64).Inc("a", 5)
	if got := c.P["a"]; got != math.MaxUint64 {
		t.Errorf("P[a] = %d; want %d", got, uint64(math.MaxUint64))
	}
}

func TestPNCounterMethodsLeaveReceiver(t *testing.T) {
	t.Parallel()
	c := merge.PNCounter{}.Inc("a", 1).Dec("b", 1)
	_ = c.Inc("a", 5)
	_ = c.Dec("b", 5)
	_ = c.Merge(merge.PNCounter{}.Inc("a", 9))
	_, _ = merge.MergePNCounter(c, true, c)
	if want := (merge.PNCounter{P: map[string]uint64{"a": 1}, N: map[string]uint64{"b": 1}}); !pnEqual(c, want) {
		t.Errorf("c = %v after use; want %v", c, want)
	}
}

func TestPNCounterMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b merge.PNCounter
		want merge.PNCounter
	}{
		{"zero", merge.PNCounter{}, merge.PNCounter{}, merge.PNCounter{}},
		{"per node max", merge.PNCounter{P: map[string]uint64{"a": 5, "b": 1}}, merge.PNCounter{P: map[string]uint64{"a": 3, "b": 4}, N: map[string]uint64{"c": 2}},
			merge.PNCounter{P: map[string]uint64{"a": 5, "b": 4}, N: map[string]uint64{"c": 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.a.Merge(tt.b); !pnEqual(got, tt.want) {
				t.Errorf("Merge = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestMergePNCounter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		current  merge.PNCounter
		exists   bool
		incoming merge.PNCounter
		want     int64
		wantErr  error
	}{
		{"first write", merge.PNCounter{}, false, merge.PNCounter{}.Inc("a", 2), 2, nil},
		{"adds a delta", merge.PNCounter{}.Inc("a", 5), true, merge.PNCounter{}.Inc("a", 2), 7, nil},
		{"adds a decrement", merge.PNCounter{}.Inc("a", 5), true, merge.PNCounter{}.Dec("b", 7), -2, nil},
		{"adds a batch", merge.PNCounter{}.Inc("a", 5), true, merge.PNCounter{}.Inc("a", 1).Inc("b", 1).Dec("c", 1), 6, nil},
		{"overflow", merge.PNCounter{}.Inc("a", math.MaxUint64), true, merge.PNCounter{}.Inc("a", 1), 0, merge.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := merge.MergePNCounter(tt.current, tt.exists, tt.incoming)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v; want %v", err, tt.wantErr)
			}
			if err == nil && got.Value() != tt.want {
				t.Errorf("Value() = %d; want %d", got.Value(), tt.want)
			}
		})
	}
}

func TestPNCounterMergeLaws(t *testing.T) {
	t.Parallel()
	checkLaws(t, randPN, merge.PNCounter.Merge, pnEqual)
}

// TestMergePNCounterIsCommutative: deltas may be applied in any order.
func TestMergePNCounterIsCommutative(t *testing.T) {
	t.Parallel()
	add := func(a, b merge.PNCounter) merge.PNCounter {
		out, err := merge.MergePNCounter(a, true, b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range lawIterations {
		a, b, c := randPN(r), randPN(r), randPN(r)
		if got, want := add(add(a, b), c), add(add(a, c), b); !pnEqual(got, want) {
			t.Fatalf("iteration %d: a+b+c = %v; want a+c+b = %v", i, got, want)
		}
		if got, want := add(a, b).Value(), a.Value()+b.Value(); got != want {
			t.Fatalf("iteration %d: Value(a+b) = %d; want %d", i, got, want)
		}
	}
}

func TestPNCounterReplicasConverge(t *testing.T) {
	t.Parallel()
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			var want int64
			op := func(r *rand.Rand, replica int, c merge.PNCounter) merge.PNCounter {
				n := r.Uint64N(10)
				if r.IntN(3) == 0 {
					want -= int64(n)
					return c.Dec(nodes[replica], n)
				}
				want += int64(n)
				return c.Inc(nodes[replica], n)
			}
			final := converge(t, seed, merge.PNCounter{}, op, merge.PNCounter.Merge, pnEqual)
			if got := final.Value(); got != want {
				t.Errorf("Value() = %d; want %d", got, want)
			}
		})
	}
}

// TestMergePNCounterRetriesOnConflict forces the conflict Warp retries on:
// node b writes between node a's read and its compare-and-swap.
func TestMergePNCounterRetriesOnConflict(t *testing.T) {
	t.Parallel()
	eng := merge.NewEngine[merge.PNCounter]()
	if err := eng.Register("views:*", merge.MergePNCounter); err != nil {
		t.Fatal(err)
	}
	var s casStore[merge.PNCounter]
	conflicts, err := writeMerged(eng, "views:home", &s, merge.PNCounter{}.Inc("a", 1), func(attempt int) {
		if attempt == 0 {
			if _, err := writeMerged(eng, "views:home", &s, merge.PNCounter{}.Inc("b", 1), nil); err != nil {
				t.Error(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if conflicts != 1 {
		t.Errorf("conflicts = %d; want 1", conflicts)
	}
	if got, _, _ := s.get(); got.Value() != 2 {
		t.Errorf("Value() = %d; want 2 (%v)", got.Value(), got)
	}
}

// TestPNCounterLosesNoIncrement: 10,000 increments from three nodes, two
// writers each, through Warp's merge path (merges serialized per node,
// compare-and-swap with retry across nodes) end at exactly 10,000.
func TestPNCounterLosesNoIncrement(t *testing.T) {
	t.Parallel()
	const total, writersPerNode = 10_000, 2
	eng := merge.NewEngine[merge.PNCounter]()
	if err := eng.Register("views:*", merge.MergePNCounter); err != nil {
		t.Fatal(err)
	}
	var (
		s         casStore[merge.PNCounter]
		wg        sync.WaitGroup
		mu        sync.Mutex // guards conflicts
		conflicts int
	)
	yield := func(int) { runtime.Gosched() } // widen the read-to-write window
	for i, node := range nodes {
		var keyLock sync.Mutex // the key's lock in this node's shard
		for w := range writersPerNode {
			n := total / len(nodes) / writersPerNode
			if i == 0 && w == 0 {
				n += total % (len(nodes) * writersPerNode)
			}
			wg.Go(func() {
				for range n {
					keyLock.Lock()
					c, err := writeMerged(eng, "views:home", &s, merge.PNCounter{}.Inc(node, 1), yield)
					keyLock.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					conflicts += c
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	got, _, _ := s.get()
	if got.Value() != total {
		t.Errorf("Value() = %d; want %d (%v)", got.Value(), total, got)
	}
	t.Logf("%d conflicts retried; per node %v", conflicts, got.P)
}

// FuzzPNCounterMerge checks the merge laws on counters built from the
// fuzzer's bytes: each byte pair is an increment or decrement on a node.
func FuzzPNCounterMerge(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5}, []byte{6, 7}, []byte{})
	f.Add([]byte{255, 255}, []byte{1, 255}, []byte{128, 0, 3, 3})
	build := func(b []byte) merge.PNCounter {
		var c merge.PNCounter
		for ; len(b) >= 2; b = b[2:] {
			node := nodes[int(b[0]>>1)%len(nodes)]
			if b[0]&1 == 0 {
				c = c.Inc(node, uint64(b[1]))
			} else {
				c = c.Dec(node, uint64(b[1]))
			}
		}
		return c
	}
	f.Fuzz(func(t *testing.T, x, y, z []byte) {
		a, b, c := build(x), build(y), build(z)
		if !pnEqual(a.Merge(b), b.Merge(a)) {
			t.Fatalf("not commutative: %v, %v", a, b)
		}
		if !pnEqual(a.Merge(b).Merge(c), a.Merge(b.Merge(c))) {
			t.Fatalf("not associative: %v, %v, %v", a, b, c)
		}
		if !pnEqual(a.Merge(a), a) {
			t.Fatalf("not idempotent: %v", a)
		}
		sum, err := merge.MergePNCounter(a, true, b)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Value() != a.Value()+b.Value() {
			t.Fatalf("MergePNCounter(%v, %v).Value() = %d; want %d", a, b, sum.Value(), a.Value()+b.Value())
		}
	})
}

// wideCounter returns a counter with counts on n nodes.
func wideCounter(n int, seed uint64) merge.PNCounter {
	r := rand.New(rand.NewPCG(seed, 0))
	var c merge.PNCounter
	for i := range n {
		c = c.Inc(fmt.Sprint("node-", i), r.Uint64N(1000)).Dec(fmt.Sprint("node-", i), r.Uint64N(1000))
	}
	return c
}

func benchPNCounter(b *testing.B, nodes int, join func(a, b merge.PNCounter) merge.PNCounter) {
	x, y := wideCounter(nodes, 1), wideCounter(nodes, 2)
	b.ReportAllocs()
	for b.Loop() {
		_ = join(x, y)
	}
}

func BenchmarkPNCounterMerge(b *testing.B) {
	for _, n := range []int{3, 16, 128} {
		b.Run(fmt.Sprint("nodes=", n), func(b *testing.B) { benchPNCounter(b, n, merge.PNCounter.Merge) })
	}
}

// BenchmarkMergePNCounter is one Warp write: a one-node delta added to a
// counter with counts on n nodes.
func BenchmarkMergePNCounter(b *testing.B) {
	delta := merge.PNCounter{}.Inc("node-0", 1)
	for _, n := range []int{3, 16, 128} {
		b.Run(fmt.Sprint("nodes=", n), func(b *testing.B) {
			benchPNCounter(b, n, func(cur, _ merge.PNCounter) merge.PNCounter {
				out, _ := merge.MergePNCounter(cur, true, delta)
				return out
			})
		})
	}
}

// TestPNCounterStateWriteLosesIncrements shows why a Warp write is a delta:
// two writers on node a read the same counter and each write it back
// incremented; joined by per-node maximum, one increment is lost.
func TestPNCounterStateWriteLosesIncrements(t *testing.T) {
	t.Parallel()
	read := merge.PNCounter{}.Inc("a", 5)
	stored := read.Merge(read.Inc("a", 1)).Merge(read.Inc("a", 1))
	if got := stored.Value(); got != 6 {
		t.Errorf("state writes joined: Value() = %d; want 6, one increment lost", got)
	}
	for _, delta := range []merge.PNCounter{merge.PNCounter{}.Inc("a", 1), merge.PNCounter{}.Inc("a", 1)} {
		read, _ = merge.MergePNCounter(read, true, delta)
	}
	if got := read.Value(); got != 7 {
		t.Errorf("deltas added: Value() = %d; want 7", got)
	}
}
