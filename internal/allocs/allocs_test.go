package allocs

import (
	"strings"
	"testing"
)

// TestByPackageDoesNotRound: one allocation every other call is 0.5 per
// call, which testing.AllocsPerRun reports as 0.
func TestByPackageDoesNotRound(t *testing.T) {
	i := 0
	f := func() {
		if i%2 == 0 {
			sinkString = strings.Repeat("x", 64)
		}
		i++
	}
	if got := testing.AllocsPerRun(1000, f); got != 0 {
		t.Fatalf("testing.AllocsPerRun = %v; this test assumes it rounds down to 0", got)
	}
	i = 0
	if got := ByPackage(1000, f)["strings"]; got < 0.49 || got > 0.51 {
		t.Fatalf("ByPackage = %v; want strings: 0.5", got)
	}
	if got := ByPackage(1000, func() {}); len(got) != 0 {
		t.Fatalf("ByPackage of a function that allocates nothing = %v; want none", got)
	}
}

var sinkString string

// TestByPackageNamesTheAllocator: strings.Repeat allocates once per call,
// in package strings (the runtime's and std internal frames skipped); the
// profiler's own bookkeeping is not counted.
func TestByPackageNamesTheAllocator(t *testing.T) {
	got := ByPackage(1000, func() { sinkString = strings.Repeat("x", 64) })
	if n := got["strings"]; n < 0.99 || n > 1.01 {
		t.Fatalf("ByPackage = %v; want strings: 1 per call", got)
	}
	for pkg, n := range got {
		if pkg != "strings" && n >= 0.01 {
			t.Errorf("%s: %v allocations per call; want only strings'", pkg, n)
		}
	}
}

func TestPkgOf(t *testing.T) {
	for fn, want := range map[string]string{
		"github.com/allegro/bigcache/v3/queue.(*BytesQueue).Push":                        "github.com/allegro/bigcache/v3/queue",
		"github.com/warpcache/warp/api.(*Warp[go.shape.[]uint8]).Set":                    "github.com/warpcache/warp/api",
		"github.com/warpcache/warp/api.get[go.shape.*github.com/warpcache/warp/store.T]": "github.com/warpcache/warp/api",
		"strings.Repeat":   "strings",
		"runtime.mallocgc": "runtime",
		"main.main":        "main",
	} {
		if got := pkgOf(fn); got != want {
			t.Errorf("pkgOf(%q) = %q; want %q", fn, got, want)
		}
	}
}
