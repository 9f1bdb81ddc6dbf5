package merge_test

import (
	"context"
	"fmt"
	"time"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store/memory"
)

// A counter in Warp: each Set passes a delta, which MergePNCounter adds to
// the stored counter.
func ExampleMergePNCounter() {
	ctx := context.Background()
	eng := merge.NewEngine[merge.PNCounter]()
	_ = eng.Register("stock:*", merge.MergePNCounter)
	w, _ := api.New(memory.New[merge.PNCounter](memory.Options{}), api.WithMergeEngine(eng))
	defer w.Close()
	_ = w.Register("stock:*", api.ModeStrongLocal, time.Minute)

	node := w.Node().ID()
	_ = w.Set(ctx, "stock:apples", merge.PNCounter{}.Inc(node, 10))
	_ = w.Set(ctx, "stock:apples", merge.PNCounter{}.Dec(node, 3))
	_ = w.Set(ctx, "stock:apples", merge.PNCounter{}.Inc(node, 1))
	c, _ := w.Get(ctx, "stock:apples")
	fmt.Println(c.Value())
	// Output: 8
}

// Two replicas of a counter, incremented apart, agree once they have
// exchanged states, in either order.
func ExamplePNCounter_Merge() {
	a := merge.PNCounter{}.Inc("a", 3)
	b := merge.PNCounter{}.Inc("b", 4).Dec("b", 1)
	a, b = a.Merge(b), b.Merge(a)
	fmt.Println(a.Value(), b.Value(), a.Merge(a).Value())
	// Output: 6 6 6
}

// A set in Warp: adds are deltas with a fresh tag; a remove writes back
// the state that was read, with the element removed.
func ExampleMergeORSet() {
	ctx := context.Background()
	eng := merge.NewEngine[merge.ORSet[string]]()
	_ = eng.Register("tags:*", merge.MergeORSet[string])
	w, _ := api.New(memory.New[merge.ORSet[string]](memory.Options{}), api.WithMergeEngine(eng))
	defer w.Close()
	_ = w.Register("tags:*", api.ModeStrongLocal, time.Minute)

	add := func(e string) error {
		tag := merge.Tag{Node: w.Node().ID(), Version: w.Node().HLC().Now()}
		return w.Set(ctx, "tags:post1", merge.ORSet[string]{}.Add(e, tag))
	}
	_ = add("go")
	_ = add("cache")
	cur, _ := w.Get(ctx, "tags:post1")
	_ = w.Set(ctx, "tags:post1", cur.Remove("cache"))
	_ = add("crdt")
	s, _ := w.Get(ctx, "tags:post1")
	fmt.Println(s.Elements())
	// Output: [go crdt]
}

// An add concurrent with a remove survives it.
func ExampleORSet_Remove() {
	base := merge.ORSet[string]{}.Add("x", merge.Tag{Node: "a", Version: 1})
	removed := base.Remove("x")                                // on node a
	readded := base.Add("x", merge.Tag{Node: "b", Version: 2}) // on node b, concurrently
	fmt.Println(removed.Contains("x"), removed.Merge(readded).Contains("x"))
	// Output: false true
}

// The register keeps the write with the larger version, whatever order
// writes are merged in.
func ExampleLWWRegister_Merge() {
	clock := merge.NewClock(nil, 0)
	older := merge.NewLWWRegister("blue", clock.Now(), "a")
	newer := merge.NewLWWRegister("green", clock.Now(), "b")
	fmt.Println(older.Merge(newer).Value, newer.Merge(older).Value)
	// Output: green green
}
