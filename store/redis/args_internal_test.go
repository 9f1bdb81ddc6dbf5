package redis

import (
	"fmt"
	"math"
	"testing"
)

func TestNum(t *testing.T) {
	t.Parallel()
	for _, n := range []uint64{0, 1, 9, 10, 9999999999, 10000000000, math.MaxUint64 - 1, math.MaxUint64} {
		if got, want := num(n), fmt.Sprintf("%020d", n); got != want {
			t.Errorf("num(%d) = %q; want %q", n, got, want)
		}
	}
}

func FuzzNum(f *testing.F) {
	f.Add(uint64(0))
	f.Add(uint64(math.MaxUint64))
	f.Fuzz(func(t *testing.T, n uint64) {
		if got, want := num(n), fmt.Sprintf("%020d", n); got != want {
			t.Fatalf("num(%d) = %q; want %q", n, got, want)
		}
	})
}
