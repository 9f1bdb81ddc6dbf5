package api

import (
	"context"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/store/memory"
)

// TestClosedWarpIsFreedByOneGC: once a used Warp is closed and dropped,
// the next garbage collection frees its router, and its caches follow. A sync.Pool
// inside the object graph (its entry buffers, Install messages, reply
// slots) would keep all of it, tens of MiB per node, through one more
// collection: the runtime holds every pool that was used until the second
// collection after its last Put, and a pool embedded in a struct holds
// that struct.
//
// The node is the test's and outlives the instance: a node the instance
// owned would be closed by Close, and its goroutine, though Close waits for
// it, can still be returning, holding the node, at the collection.
func TestClosedWarpIsFreedByOneGC(t *testing.T) {
	ctx := context.Background()
	node, err := actors.NewNode(actors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	w, err := New[[]byte](memory.New[[]byte](memory.Options{}), WithNode[[]byte](node))
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
	if router.Value() != nil {
		t.Fatal("after Close and one GC: the router is still held; want it freed")
	}
	// A shard's actor can outlive that collection briefly: Close stops it
	// with protoactor's PoisonFuture, whose timeout timer, once stopped,
	// can stay in the runtime's timer heap until the scheduler next tidies
	// it, holding the future, its Terminated answer, that answer's PID and
	// through it the actor. Give the scheduler a few turns, each followed
	// by a collection.
	for i := 0; view.Value() != nil && i < 100; i++ {
		time.Sleep(time.Millisecond)
		runtime.GC()
	}
	if view.Value() != nil {
		t.Fatal("after Close and 100 more GCs: a shard view is still held; want it freed")
	}
}
