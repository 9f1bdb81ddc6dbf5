package api

import (
	"context"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/warpcache/warp/store/memory"
)

// TestClosedWarpIsFreedByOneGC: once a used Warp is closed and dropped,
// the next garbage collection frees its caches. A sync.Pool inside the
// object graph (its entry buffers, Install messages, reply slots) would
// keep all of it, tens of MiB per node, through one more collection: the
// runtime holds every pool that was used until the second collection
// after its last Put, and a pool embedded in a struct holds that struct.
func TestClosedWarpIsFreedByOneGC(t *testing.T) {
	ctx := context.Background()
	w, err := New[[]byte](memory.New[[]byte](memory.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Register("k:*", ModeStrongLocal, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k:1", "k:2", "k:3"} {
		if err := w.Set(ctx, k, []byte("v")); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	router := weak.Make(w.router)
	view := weak.Make(w.router.Shard(w.router.Hash("k:1")))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = nil
	runtime.GC()
	if router.Value() != nil || view.Value() != nil {
		t.Fatalf("after Close and one GC: router held %v, shard view held %v; want both freed", router.Value() != nil, view.Value() != nil)
	}
}
