package merge_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/warpcache/warp/merge"
)

type reg = merge.LWWRegister[string]

func regEqual(a, b reg) bool { return a == b }

// randReg draws a register whose value is determined by its stamp, as
// unique stamps guarantee.
func randReg(r *rand.Rand) reg {
	node, v := nodes[r.IntN(len(nodes))], merge.Version(r.IntN(20))
	return merge.NewLWWRegister(fmt.Sprint(node, v), v, node)
}

func TestLWWRegisterMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b reg
		want string
	}{
		{"later version wins", merge.NewLWWRegister("old", 1, "z"), merge.NewLWWRegister("new", 2, "a"), "new"},
		{"earlier arriving later loses", merge.NewLWWRegister("new", 2, "a"), merge.NewLWWRegister("old", 1, "z"), "new"},
		{"tie broken by node", merge.NewLWWRegister("a", 5, "a"), merge.NewLWWRegister("b", 5, "b"), "b"},
		{"tie broken by node, other order", merge.NewLWWRegister("b", 5, "b"), merge.NewLWWRegister("a", 5, "a"), "b"},
		{"never written", reg{}, merge.NewLWWRegister("x", 1, "a"), "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.a.Merge(tt.b).Value; got != tt.want {
				t.Errorf("Merge = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestMergeLWWRegister(t *testing.T) {
	t.Parallel()
	cur := merge.NewLWWRegister("cur", 10, "b")
	tests := []struct {
		name     string
		exists   bool
		incoming reg
		want     string
		wantErr  error
	}{
		{"first write", false, merge.NewLWWRegister("x", 3, "a"), "x", nil},
		{"newer write", true, merge.NewLWWRegister("x", 11, "a"), "x", nil},
		{"older write", true, merge.NewLWWRegister("x", 9, "c"), "cur", nil},
		{"unversioned write", true, merge.NewLWWRegister("x", 0, "a"), "", merge.ErrUnversioned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := cur
			if !tt.exists {
				c = reg{}
			}
			got, err := merge.MergeLWWRegister(c, tt.exists, tt.incoming)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v; want %v", err, tt.wantErr)
			}
			if err == nil && got.Value != tt.want {
				t.Errorf("Value = %q; want %q", got.Value, tt.want)
			}
		})
	}
}

func TestLWWRegisterMergeLaws(t *testing.T) {
	t.Parallel()
	checkLaws(t, randReg, reg.Merge, regEqual)
}

func TestLWWRegisterReplicasConverge(t *testing.T) {
	t.Parallel()
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			clock := merge.NewClock(nil, 0) // shared, so every stamp is unique
			var latest merge.Version
			op := func(r *rand.Rand, i int, x reg) reg {
				v := clock.Now()
				latest = v
				return x.Merge(merge.NewLWWRegister(fmt.Sprint(nodes[i], r.IntN(100)), v, nodes[i]))
			}
			if got := converge(t, seed, reg{}, op, reg.Merge, regEqual); got.Version != latest {
				t.Errorf("converged on version %d; want the last write, %d", got.Version, latest)
			}
		})
	}
}

// TestLWWRegisterThroughWarp: writes that reach the store out of order (a
// slow writer with an old stamp) do not overwrite later ones; the store
// ends with the write with the largest stamp.
func TestLWWRegisterThroughWarp(t *testing.T) {
	t.Parallel()
	eng := merge.NewEngine[reg]()
	if err := eng.Register("profile:*", merge.MergeLWWRegister[string]); err != nil {
		t.Fatal(err)
	}
	var (
		s   casStore[reg]
		wg  sync.WaitGroup
		mu  sync.Mutex // guards max
		max merge.Tag
	)
	for _, node := range nodes {
		clock := merge.NewClock(nil, 0)
		wg.Go(func() {
			var delayed []reg
			for i := range 500 {
				w := merge.NewLWWRegister(fmt.Sprint(node, i), clock.Now(), node)
				mu.Lock()
				if w.Stamp().Compare(max) > 0 {
					max = w.Stamp()
				}
				mu.Unlock()
				if i%4 == 0 {
					delayed = append(delayed, w) // sent late
					continue
				}
				if _, err := writeMerged(eng, "profile:p", &s, w, func(int) { runtime.Gosched() }); err != nil {
					t.Error(err)
				}
			}
			for _, w := range delayed {
				if _, err := writeMerged(eng, "profile:p", &s, w, nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got, _, _ := s.get(); got.Stamp() != max {
		t.Errorf("stored stamp %v; want the largest, %v", got.Stamp(), max)
	}
}

func BenchmarkLWWRegisterMerge(b *testing.B) {
	x, y := merge.NewLWWRegister("x", 1, "a"), merge.NewLWWRegister("y", 1, "b")
	b.ReportAllocs()
	for b.Loop() {
		x = x.Merge(y)
	}
}
