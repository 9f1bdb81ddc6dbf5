package api_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store/memory"
)

// The quick example from docs/getting-started.md: one node, the in-memory
// store, a key pattern in ModeStrongLocal.
func Example() {
	ctx := context.Background()
	w, err := api.New[string](memory.New[string](memory.Options{}))
	if err != nil {
		panic(err)
	}
	defer w.Close()

	if err := w.Register("greeting:*", api.ModeStrongLocal, time.Minute); err != nil {
		panic(err)
	}
	if err := w.Set(ctx, "greeting:en", "Hello Warp!"); err != nil {
		panic(err)
	}
	v, err := w.Get(ctx, "greeting:en")
	fmt.Println(v, err)

	_, err = w.Get(ctx, "greeting:fr")
	fmt.Println(errors.Is(err, api.ErrNotFound))
	_, err = w.Get(ctx, "farewell")
	fmt.Println(errors.Is(err, api.ErrUnregistered))
	// Output:
	// Hello Warp! <nil>
	// true
	// true
}

// A counter whose writes are summed by a merge function: concurrent
// increments are never lost.
func ExampleWithMergeEngine() {
	ctx := context.Background()
	eng := merge.NewEngine[int]()
	_ = eng.Register("hits:*", merge.Sum[int])
	w, _ := api.New[int](memory.New[int](memory.Options{}), api.WithMergeEngine(eng))
	defer w.Close()
	_ = w.Register("hits:*", api.ModeStrongLocal, time.Minute)
	for range 3 {
		_ = w.Set(ctx, "hits:home", 1)
	}
	n, _ := w.Get(ctx, "hits:home")
	fmt.Println(n)
	// Output: 3
}
