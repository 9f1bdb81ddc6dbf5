package natslease

import (
	"fmt"
	"testing"
)

// TestIDFilter: the filter never misses an id added; after as many ids as
// the table it is sized for tracks leases, it reports about 0.4% of the
// others (here, under 1%).
func TestIDFilter(t *testing.T) {
	t.Parallel()
	const maxLeases, others = 4096, 100_000
	f := newIDFilter(maxLeases)
	if got, want := len(f.bits)*64, filterBitsPerLease*maxLeases; got != want {
		t.Fatalf("%d bits for %d leases; want %d", got, maxLeases, want)
	}
	for i := range maxLeases {
		f.add(fmt.Sprintf("%016x", i))
	}
	for i := range maxLeases {
		if id := fmt.Sprintf("%016x", i); !f.has(id) {
			t.Fatalf("has(%s) = false after add; want true", id)
		}
	}
	positives := 0
	for i := range others {
		if f.has(fmt.Sprintf("%016x", maxLeases+i)) {
			positives++
		}
	}
	if positives > others/100 {
		t.Errorf("%d false positives in %d; want under 1%%", positives, others)
	}
	t.Logf("%d false positives in %d (%.2f%%)", positives, others, 100*float64(positives)/others)
}
