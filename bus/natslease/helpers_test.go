package natslease_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/internal/leakcheck"
	"github.com/warpcache/warp/internal/natstest"
)

// TestMain fails the run if goroutines outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// revocation is one onRevoke call.
type revocation struct {
	id   string
	keys []string
	at   time.Time
}

// node is one simulated node: its own connection, JetStream and Leases,
// and the revocations its watcher reported.
type node struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	l       *natslease.Leases
	revokes chan revocation
}

// newNode connects to srv and opens a Leases; the cleanup closes both.
func newNode(tb testing.TB, srv *natsbus.Server, cfg natslease.Config) *node {
	tb.Helper()
	nc, js := natstest.Connect(tb, srv)
	n := &node{nc: nc, js: js, revokes: make(chan revocation, 1024)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := natslease.New(ctx, js, cfg, func(id string, keys []string) {
		n.revokes <- revocation{id: id, keys: keys, at: time.Now()}
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	n.l = l
	return n
}

// nextRevoke returns the node's next revocation, failing the test if none
// comes within d.
func (n *node) nextRevoke(tb testing.TB, d time.Duration) revocation {
	tb.Helper()
	select {
	case r := <-n.revokes:
		return r
	case <-time.After(d):
		tb.Fatalf("no revocation within %v", d)
		return revocation{}
	}
}

// expectRevoke checks that the node's next revocation is of id with keys.
func (n *node) expectRevoke(tb testing.TB, name, id string, keys []string) revocation {
	tb.Helper()
	r := n.nextRevoke(tb, 10*time.Second)
	if r.id != id || !slices.Equal(r.keys, keys) {
		tb.Errorf("%s: got revocation %s %q; want %s %q", name, r.id, r.keys, id, keys)
	}
	return r
}

// barrier grants and revokes a fresh lease through n and waits until
// every node reported it: every revocation of an earlier write has been
// reported by then, since each watcher reports in the bucket's order.
// Revocations before the barrier's are returned by node.
func barrier(tb testing.TB, ctx context.Context, via *node, nodes ...*node) [][]revocation {
	tb.Helper()
	lease, err := via.l.Grant(ctx, time.Minute)
	if err != nil {
		tb.Fatalf("barrier: Grant: %v", err)
	}
	if err := via.l.Revoke(ctx, lease.ID); err != nil {
		tb.Fatalf("barrier: Revoke: %v", err)
	}
	before := make([][]revocation, len(nodes))
	for i, n := range nodes {
		for {
			r := n.nextRevoke(tb, 10*time.Second)
			if r.id == lease.ID {
				break
			}
			before[i] = append(before[i], r)
		}
	}
	return before
}

// bounded returns a context that ends after d, cancelled with the test.
func bounded(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}
