// Package allocs counts the heap allocations of a function exactly, for
// the allocation tests.
//
// testing.AllocsPerRun divides the allocation count by the number of runs
// in integers, so a call that allocates on every other run reports 0;
// ByPackage does not round, and names the package of each allocation.
package allocs

import (
	"runtime"
	"strings"
)

// ByPackage calls f once to warm it up, then runs times more with every
// allocation sampled by the memory profiler, and returns the allocations
// per call keyed by the package of the function that made each one (the
// first frame outside the runtime, such as
// "github.com/allegro/bigcache/v3/queue"). Allocations of other
// goroutines meanwhile are counted too; run it in a quiet process.
func ByPackage(runs int, f func()) map[string]float64 {
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	f()
	before := profile()
	for range runs {
		f()
	}
	after := profile()
	out := make(map[string]float64)
	for stack, n := range after {
		if n -= before[stack]; n > 0 {
			if pkg := allocator(stack); pkg != "" {
				out[pkg] += float64(n) / float64(max(runs, 1))
			}
		}
	}
	return out
}

// profile returns the number of allocations made so far at each stack.
// The profiler publishes a GC cycle's allocations two cycles after it.
func profile() map[[32]uintptr]int64 {
	for range 3 {
		runtime.GC()
	}
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+64)
	}
	out := make(map[[32]uintptr]int64, len(recs))
	for _, r := range recs {
		out[r.Stack0] += r.AllocObjects
	}
	return out
}

// allocator returns the package of the first function outside the runtime
// on stack, or "" for this package's own allocations (profile's).
func allocator(stack [32]uintptr) string {
	frames := runtime.CallersFrames(stack[:])
	for {
		fr, more := frames.Next()
		pkg := pkgOf(fr.Function)
		switch {
		case pkg == "runtime" || strings.HasPrefix(pkg, "internal/") || strings.HasPrefix(pkg, "runtime/"):
		case pkg == thisPkg:
			return ""
		case pkg != "":
			return pkg
		}
		if !more {
			return ""
		}
	}
}

const thisPkg = "github.com/warpcache/warp/internal/allocs"

// pkgOf returns the package path of a function name as the runtime spells
// it ("path/to/pkg.(*T).M", "path/to/pkg.F[...]").
func pkgOf(fn string) string {
	name := fn
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i] // type arguments may hold paths of their own
	}
	slash := strings.LastIndexByte(name, '/')
	if dot := strings.IndexByte(name[slash+1:], '.'); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}
