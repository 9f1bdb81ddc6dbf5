package bus_test

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/internal/leakcheck"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages/wire"
)

// TestMain fails the run if goroutines outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// eventually polls cond, bounded, for state that has no event to wait on
// (lease, membership); every poll is a few milliseconds apart.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(2 * time.Millisecond)
	}
}

// node is one bus with its applier.
type node struct {
	bus *bus.Bus
	app *bustest.Applier
}

// fastConfig is a Config with short timers, for tests on real time, on
// membership m (nil: a bus without a Membership).
func fastConfig(cluster, id string, tr bus.Transport, app bus.Applier, m bus.Membership) bus.Config {
	return bus.Config{
		Cluster: cluster, NodeID: id, Transport: tr, Applier: app, Membership: m, Keys: testKeys,
		HeartbeatInterval: 20 * time.Millisecond, LeaseDuration: 100 * time.Millisecond,
		PeerTimeout: time.Second, StrongTimeout: 3 * time.Second, MemberLease: 400 * time.Millisecond,
	}
}

// testKeys seal the test clusters' messages.
var testKeys = []wire.Key{wire.GenerateKey(1)}

// memberships holds each test cluster's shared membership, so that nodes
// started by several startNodes calls of one test share it.
var memberships sync.Map // cluster name → *bustest.Membership

// membershipOf returns the membership of t's cluster.
func membershipOf(t testing.TB) *bustest.Membership {
	m, _ := memberships.LoadOrStore(clusterOf(t), bustest.NewMembership())
	return m.(*bustest.Membership)
}

func newSystem(t testing.TB) *actor.ActorSystem {
	t.Helper()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }))
	t.Cleanup(sys.Shutdown)
	return sys
}

// startNodes starts one bus per transport, named n0, n1, ...; cfg may
// adjust each Config.
func startNodes(t testing.TB, trs []bus.Transport, cfg func(*bus.Config)) []node {
	t.Helper()
	sys := newSystem(t)
	cluster := clusterOf(t)
	nodes := make([]node, len(trs))
	for i, tr := range trs {
		app := bustest.NewApplier()
		c := fastConfig(cluster, fmt.Sprintf("n%d", i), tr, app, membershipOf(t))
		if cfg != nil {
			cfg(&c)
		}
		b, err := bus.New(sys, c)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		nodes[i] = node{bus: b, app: app}
	}
	return nodes
}

// clusterOf names a test's cluster.
func clusterOf(t testing.TB) string {
	return strings.NewReplacer("/", "_", ".", "_", " ", "_", "%", "p").Replace(t.Name())
}

// converged waits until every node sees all others and holds its lease.
func converged(t testing.TB, nodes []node) {
	t.Helper()
	eventually(t, "membership and leases", func() bool {
		for _, n := range nodes {
			if len(n.bus.Members()) != len(nodes)-1 || !n.bus.LeaseValid() {
				return false
			}
		}
		return true
	})
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

// allCovered waits until app holds every key at its version, or flushed
// (more than flushed flushes): a flush covers whatever it was missing.
func allCovered(t *testing.T, app *bustest.Applier, keys map[string]merge.Version, flushed int) {
	t.Helper()
	app.Wait(t, fmt.Sprintf("%d keys applied or flushed", len(keys)), func() bool {
		if app.Flushes > flushed {
			return true
		}
		for k, v := range keys {
			if app.Versions[k] < v {
				return false
			}
		}
		return true
	})
}

// allApplied waits until app holds every key at its version.
func allApplied(t *testing.T, app *bustest.Applier, keys map[string]merge.Version) {
	t.Helper()
	app.Wait(t, fmt.Sprintf("%d keys applied", len(keys)), func() bool {
		for k, v := range keys {
			if app.Versions[k] < v {
				return false
			}
		}
		return true
	})
}
