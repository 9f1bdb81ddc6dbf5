package api_test

import (
	"context"
	"fmt"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// A lease with attached keys: when it is revoked, on any node, or expires
// because nobody kept it alive, every node drops its cached copies of the
// attached keys, wherever they were attached. Here node b caches a session
// that node a attached; after a's RevokeLease, b reads the store again.
func ExampleWarp_GrantLease() {
	ctx := context.Background()
	js, stop := startJetStream()
	defer stop()

	st := memory.New[string](memory.Options{}) // the store both nodes share
	var nodes []*api.Warp[string]
	for _, id := range []string{"a", "b"} {
		w, err := api.New[string](st,
			api.WithNodeConfig[string](actors.Config{ID: id}),
			api.WithLeases[string](js, natslease.Config{}))
		if err != nil {
			panic(err)
		}
		defer w.Close()
		if err := w.Register("session:*", api.ModeStrongLocal, time.Hour); err != nil {
			panic(err)
		}
		nodes = append(nodes, w)
	}
	a, b := nodes[0], nodes[1]

	lease, err := a.GrantLease(ctx, 30*time.Second)
	if err != nil {
		panic(err)
	}
	if err := a.Set(ctx, "session:7", "alice"); err != nil {
		panic(err)
	}
	if err := a.AttachLease(ctx, lease.ID, "session:7"); err != nil {
		panic(err)
	}
	v, _ := b.Get(ctx, "session:7") // b caches it for an hour
	fmt.Println(v)
	if err := a.KeepAliveLease(ctx, lease.ID, 0); err != nil { // another 30s
		panic(err)
	}

	// Another program changes the store without telling Warp; b still
	// serves its copy until the lease ends.
	_, _ = st.Set(ctx, "session:7", "bob", store.Write{})
	if err := a.RevokeLease(ctx, lease.ID); err != nil {
		panic(err)
	}
	deadline := time.Now().Add(5 * time.Second) // revocation reaches b asynchronously
	for v != "bob" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		v, _ = b.Get(ctx, "session:7")
	}
	fmt.Println(v)
	// Output:
	// alice
	// bob
}
