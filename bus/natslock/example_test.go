package natslock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

func Example() {
	dir, _ := os.MkdirTemp("", "natslock-example")
	defer os.RemoveAll(dir)
	srv, err := natsbus.StartEmbedded(natsbus.EmbeddedOptions{JetStream: true, StoreDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	locker, err := natslock.New(ctx, js, natslock.Config{Bucket: "locks"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer locker.Close()

	db := memory.New[string](memory.Options{})
	lock, err := locker.Lock(ctx, "orders/42", 10*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Every write under the lock carries its fencing token.
	_, err = db.Set(ctx, "orders/42", "paid", store.Write{Fence: lock.Token()})
	fmt.Println("write:", err)

	_, err = locker.TryLock(ctx, "orders/42", time.Second)
	fmt.Println("second grant refused:", errors.Is(err, natslock.ErrLocked))

	fmt.Println("unlock:", lock.Unlock(ctx))
	// Output:
	// write: <nil>
	// second grant refused: true
	// unlock: <nil>
}
