package bus_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/merge"
)

// printApplier prints what it applies and signals each call.
type printApplier struct{ applied chan string }

func (p printApplier) Invalidate(_ context.Context, key string, v merge.Version) error {
	p.applied <- fmt.Sprintf("invalidate %s at %d", key, v)
	return nil
}

func (p printApplier) InvalidatePrefix(_ context.Context, prefix string) error {
	p.applied <- "invalidate prefix " + prefix
	return nil
}

func (p printApplier) Fence(_ context.Context, key string, token merge.Version) error {
	p.applied <- fmt.Sprintf("fence %s with token %d", key, token)
	return nil
}

func (p printApplier) Release(_ context.Context, key string, token merge.Version) error {
	p.applied <- fmt.Sprintf("release %s token %d", key, token)
	return nil
}

func (p printApplier) Flush(context.Context) error { return nil }

func Example() {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }))
	defer system.Shutdown()
	hub := inproc.NewHub() // natsbus.Dial(url, natsbus.Options{}) in production
	// The membership every node renews; Warp's api adapts its primary
	// store's (store.Membership) in production.
	members := bustest.NewMembership()

	applied := make(chan string, 16)
	var nodes []*bus.Bus
	for _, id := range []string{"a", "b"} {
		b, err := bus.New(system, bus.Config{
			Cluster: "shop", NodeID: id, Transport: hub.Transport(),
			Applier: printApplier{applied: applied}, Membership: members, Logger: discard,
		})
		if err != nil {
			panic(err)
		}
		defer b.Close()
		nodes = append(nodes, b)
	}
	nodes[0].Publish("user:1", 42)
	nodes[0].PublishPrefix("session:")
	fmt.Println(<-applied)
	fmt.Println(<-applied)
	// Output:
	// invalidate user:1 at 42
	// invalidate prefix session:
}
