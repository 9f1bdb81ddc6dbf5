package bus_test

import (
	"context"
	"fmt"
	"github.com/warpcache/warp/internal/leakcheck"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/merge"
)

// TestMain fails the run if goroutines outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// fakeApplier records what the bus applied. It signals changed after every
// call, so tests wait on events instead of sleeping.
type fakeApplier struct {
	mu       sync.Mutex // guards the fields below
	versions map[string]merge.Version
	prefixes []string
	flushes  int
	calls    int
	changed  chan struct{}
	fail     atomic.Bool
}

func newFakeApplier() *fakeApplier {
	return &fakeApplier{versions: map[string]merge.Version{}, changed: make(chan struct{}, 1)}
}

func (f *fakeApplier) record(fn func()) error {
	if f.fail.Load() {
		return fmt.Errorf("fake failure")
	}
	f.mu.Lock()
	fn()
	f.calls++
	f.mu.Unlock()
	select {
	case f.changed <- struct{}{}:
	default:
	}
	return nil
}

func (f *fakeApplier) Invalidate(_ context.Context, key string, v merge.Version) error {
	return f.record(func() { f.versions[key] = max(f.versions[key], v) })
}

func (f *fakeApplier) InvalidatePrefix(_ context.Context, prefix string) error {
	return f.record(func() { f.prefixes = append(f.prefixes, prefix) })
}

func (f *fakeApplier) Flush(context.Context) error { return f.record(func() { f.flushes++ }) }

func (f *fakeApplier) version(key string) merge.Version {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.versions[key]
}

// waitApplied waits, bounded, until cond holds over the applier.
func (f *fakeApplier) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		ok := cond()
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-f.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

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
	app *fakeApplier
}

// fastConfig is a Config with short timers, for tests on real time.
func fastConfig(cluster, id string, tr bus.Transport, app bus.Applier) bus.Config {
	return bus.Config{
		Cluster: cluster, NodeID: id, Transport: tr, Applier: app,
		HeartbeatInterval: 20 * time.Millisecond, LeaseDuration: 100 * time.Millisecond,
		PeerTimeout: time.Second, StrongTimeout: 3 * time.Second,
	}
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
		app := newFakeApplier()
		c := fastConfig(cluster, fmt.Sprintf("n%d", i), tr, app)
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

// allApplied waits until app holds every key at its version.
func allApplied(t *testing.T, app *fakeApplier, keys map[string]merge.Version) {
	t.Helper()
	app.wait(t, fmt.Sprintf("%d keys applied", len(keys)), func() bool {
		for k, v := range keys {
			if app.versions[k] < v {
				return false
			}
		}
		return true
	})
}
