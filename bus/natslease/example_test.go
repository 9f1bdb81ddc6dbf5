package natslease_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/bus/natslease"
)

func Example() {
	dir, _ := os.MkdirTemp("", "natslease-example")
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
	revoked := make(chan []string, 1)
	leases, err := natslease.New(ctx, js, natslease.Config{Bucket: "leases"}, func(_ string, keys []string) {
		revoked <- keys // Warp: Invalidate each key on this node
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer leases.Close()

	lease, err := leases.Grant(ctx, 30*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = leases.Attach(ctx, lease.ID, "session/42/cart")
	_ = leases.Attach(ctx, lease.ID, "session/42/profile")
	fmt.Println("revoke:", leases.Revoke(ctx, lease.ID))
	fmt.Println("revoked:", <-revoked)
	err = leases.Attach(ctx, lease.ID, "session/42/late")
	fmt.Println("attach after revoke:", errors.Is(err, natslease.ErrNotFound))
	// Output:
	// revoke: <nil>
	// revoked: [session/42/cart session/42/profile]
	// attach after revoke: true
}
