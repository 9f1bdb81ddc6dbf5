package natslease_test

import (
	"slices"
	"testing"
	"time"

	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/internal/natstest"
)

// slack covers the difference between the server's wall clock, which
// times the TTL, and the test's monotonic clock.
const slack = 20 * time.Millisecond

// TestExpiry: a lease without KeepAlive expires on the server after its
// TTL, not before, and every node reports its keys, although the granting
// node's connection closed before the expiry.
func TestExpiry(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	srv := natstest.StartJetStream(t, nil)
	nodes := []*node{newNode(t, srv, natslease.Config{}), newNode(t, srv, natslease.Config{}), newNode(t, srv, natslease.Config{})}
	ctx := bounded(t, 20*time.Second)

	start := time.Now()
	lease, err := nodes[0].l.Grant(ctx, ttl)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	if lease.TTL != ttl {
		t.Errorf("granted TTL: got %v; want %v", lease.TTL, ttl)
	}
	for i, k := range []string{"x", "y"} {
		if err := nodes[i].l.Attach(ctx, lease.ID, k); err != nil {
			t.Fatalf("Attach: %v", err)
		}
	}
	nodes[0].nc.Close() // the granter vanishes
	for i, n := range nodes[1:] {
		r := n.expectRevoke(t, "expiry", lease.ID, []string{"x", "y"})
		if waited := r.at.Sub(start); waited < ttl-slack || waited > ttl+3*time.Second {
			t.Errorf("node %d: revoked after %v; want within [%v, %v]", i+1, waited, ttl, ttl+3*time.Second)
		} else {
			t.Logf("node %d: TTL %v, revoked after %v", i+1, ttl, waited)
		}
	}
	if err := nodes[0].l.Close(); err != nil {
		t.Errorf("Close after the connection closed: %v", err)
	}
}

// TestKeepAlive: KeepAlive extends a lease and its attachments past the
// first TTL (a node joining after the first TTL still sees the key), and
// the new TTL is enforced by the server.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	const ttl, longer = time.Second, 3 * time.Second
	srv := natstest.StartJetStream(t, nil)
	a := newNode(t, srv, natslease.Config{})
	b := newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 20*time.Second)

	start := time.Now()
	lease, err := a.l.Grant(ctx, ttl)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	if err := b.l.Attach(ctx, lease.ID, "kept"); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	refreshed := time.Now()
	if err := a.l.KeepAlive(ctx, lease.ID, longer); err != nil {
		t.Fatalf("KeepAlive: %v", err)
	}
	// Past the first TTL (plus a second of slack), nothing is revoked.
	select {
	case r := <-b.revokes:
		t.Fatalf("revoked %s %q after %v, during the extended TTL", r.id, r.keys, r.at.Sub(start))
	case <-time.After(time.Until(start.Add(2 * ttl))):
	}
	late := newNode(t, srv, natslease.Config{})
	if got := late.l.Keys(lease.ID); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("late joiner's Keys after the first TTL: got %q; want [kept]", got)
	}
	for name, n := range map[string]*node{"b": b, "late": late} {
		r := n.expectRevoke(t, name, lease.ID, []string{"kept"})
		if waited := r.at.Sub(refreshed); waited < longer-slack || waited > longer+3*time.Second {
			t.Errorf("node %s: revoked %v after KeepAlive; want within [%v, %v]", name, waited, longer, longer+3*time.Second)
		} else {
			t.Logf("node %s: kept alive to %v, revoked %v after KeepAlive", name, longer, waited)
		}
	}
}
