package kafkabus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/bus/kafkabus"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages/wire"
)

// The bus actor runs over Kafka as it does over NATS: eventual
// invalidations reach every peer's Applier, and a strong publish gets its
// quorum of acks through the inbox topic.
func TestBusOverKafka(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	trs := make([]bus.Transport, 3)
	for i := range trs {
		trs[i] = newTransport(t, c, kafkabus.Options{})
	}
	nodes := startNodes(t, trs)
	converged(t, nodes)
	keys := publishKeys(nodes[0].bus, "k", 500)
	for _, n := range nodes[1:] {
		n.app.Wait(t, "500 keys applied", func() bool {
			for k, v := range keys {
				if n.app.Versions[k] < v {
					return false
				}
			}
			return true
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if acked, err := nodes[1].bus.PublishStrong(ctx, "s", 42, 2); err != nil || acked != 2 {
		t.Fatalf("PublishStrong quorum 2 of 3 nodes = %d, %v; want 2, nil", acked, err)
	}
	for _, n := range []node{nodes[0], nodes[2]} {
		if got := n.app.Version("s"); got != 42 {
			t.Fatalf("peer holds version %d after the strong publish; want 42", got)
		}
	}
	if _, err := nodes[1].bus.PublishStrong(ctx, "s", 43, 3); !errors.Is(err, bus.ErrQuorum) {
		t.Fatalf("PublishStrong quorum 3 of 2 peers: got %v; want ErrQuorum", err)
	}
}

// node is one bus with its applier.
type node struct {
	bus *bus.Bus
	app *bustest.Applier
}

// startNodes starts one bus per transport, named n0, n1, ..., with short
// timers, on an actor system that logs nowhere.
func startNodes(t testing.TB, trs []bus.Transport) []node {
	t.Helper()
	discard := slog.New(slog.DiscardHandler)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }))
	t.Cleanup(sys.Shutdown)
	cluster := clusterName(t)
	nodes := make([]node, len(trs))
	members, keys := bustest.NewMembership(), []wire.Key{wire.GenerateKey(1)}
	for i, tr := range trs {
		app := bustest.NewApplier()
		b, err := bus.New(sys, bus.Config{
			Cluster: cluster, NodeID: fmt.Sprintf("n%d", i), Transport: tr, Applier: app,
			Membership: members, Keys: keys,
			HeartbeatInterval: 20 * time.Millisecond, LeaseDuration: 100 * time.Millisecond,
			PeerTimeout: time.Second, StrongTimeout: 3 * time.Second,
		})
		if err != nil {
			t.Fatalf("bus.New: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		nodes[i] = node{bus: b, app: app}
	}
	return nodes
}

// clusterName is the cluster startNodes names after t.
func clusterName(t testing.TB) string {
	return strings.NewReplacer("/", "_", ".", "_", " ", "_").Replace(t.Name())
}

// converged waits until every node sees all others and holds its lease;
// membership has no event to wait on, so it polls a few milliseconds
// apart, bounded.
func converged(t testing.TB, nodes []node) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		for _, n := range nodes {
			ok = ok && len(n.bus.Members()) == len(nodes)-1 && n.bus.LeaseValid()
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for membership and leases")
		}
		<-time.After(2 * time.Millisecond)
	}
}

// publishKeys publishes n keys from b at versions 1..n and returns them.
func publishKeys(b *bus.Bus, prefix string, n int) map[string]merge.Version {
	keys := make(map[string]merge.Version, n)
	for i := range n {
		k := fmt.Sprintf("%s%d", prefix, i)
		keys[k] = merge.Version(i + 1)
		b.Publish(k, keys[k])
	}
	return keys
}
