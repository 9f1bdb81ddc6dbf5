package api_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// A distributed lock with fencing: Lock waits until the lock is free,
// TryLock fails at once with natslock.ErrLocked while someone holds it, and
// every write made under the lock carries its token (SetFenced). A holder
// whose lock ended — its TTL ran out during a pause, or, as here, it was
// released — and who writes late is refused by the store, which keeps the
// largest token it accepted for the key.
func ExampleWarp_Lock() {
	ctx := context.Background()
	js, stop := startJetStream() // in production: jetstream.New(nc) on your connection
	defer stop()

	w, err := api.New[string](memory.New[string](memory.Options{}),
		api.WithLocks[string](js, natslock.Config{}))
	if err != nil {
		panic(err)
	}
	defer w.Close()
	if err := w.Register("order:*", api.ModeStrongLocal, time.Minute); err != nil {
		panic(err)
	}

	first, err := w.Lock(ctx, "orders.42", 10*time.Second)
	if err != nil {
		panic(err)
	}
	_, err = w.TryLock(ctx, "orders.42", 10*time.Second)
	fmt.Println("held:", errors.Is(err, natslock.ErrLocked))
	fmt.Println("first holder:", w.SetFenced(ctx, "order:42", "paid", first.Token()))
	_ = first.Unlock(ctx)

	second, err := w.Lock(ctx, "orders.42", 10*time.Second)
	if err != nil {
		panic(err)
	}
	defer second.Unlock(ctx)
	fmt.Println("larger token:", second.Token() > first.Token())
	fmt.Println("second holder:", w.SetFenced(ctx, "order:42", "shipped", second.Token()))
	err = w.SetFenced(ctx, "order:42", "cancelled", first.Token()) // the first holder, late
	fmt.Println("first holder fenced:", errors.Is(err, store.ErrFenced))
	v, _ := w.Get(ctx, "order:42")
	fmt.Println(v)
	// Output:
	// held: true
	// first holder: <nil>
	// larger token: true
	// second holder: <nil>
	// first holder fenced: true
	// shipped
}
