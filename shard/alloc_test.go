//go:build !race

// The race detector allocates on its own; make allocs runs these tests
// without it.

package shard

import (
	"testing"

	"github.com/warpcache/warp/internal/allocs"
)

// TestDeleteAllocatesNothing: dropping an entry (every invalidation does)
// allocates nothing. bigcache hands its removal callback copies of the key
// and the entry, so the View asks it only for the removals it counts
// (evictions and expiries), not for deletions.
func TestDeleteAllocatesNothing(t *testing.T) {
	v := newView(t, 8<<20)
	entry := make([]byte, HeaderSize+64)
	if err := v.cache.Set("k", entry); err != nil { // the queue's first growth
		t.Fatal(err)
	}
	got := allocs.ByPackage(1000, func() {
		_ = v.cache.Set("k", entry)
		_ = v.cache.Delete("k")
	})
	if len(got) > 0 {
		t.Fatalf("Set and Delete allocate, per call: %v; want nothing", got)
	}
}
