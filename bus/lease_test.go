package bus_test

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/messages/wire"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(1_700_000_000, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// The lease math on an injected clock: a writer counts a partitioned peer
// only once the peer's own lease has expired, never before, and a quorum
// that needs the peer's ack fails at the deadline.
func TestLeaseLapseInjectedClock(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{}
	trs, faulty := faultTransports(2, 11)
	sys := newSystem(t)
	nodes := make([]node, 2)
	var cfg bus.Config
	for i := range nodes {
		app := bustest.NewApplier()
		cfg = bus.Config{
			Cluster: clusterOf(t), NodeID: []string{"a", "b"}[i], Transport: trs[i], Applier: app, Keys: testKeys,
			Now: clk.Now, HeartbeatInterval: 100 * time.Millisecond, LeaseDuration: 500 * time.Millisecond,
			MaxClockDrift: 0.01, LeaseMargin: 10 * time.Millisecond, PeerTimeout: 5 * time.Second,
			StrongTimeout: 3 * time.Second,
		}
		b, err := bus.NewManual(sys, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		nodes[i] = node{bus: b, app: app}
	}
	a, b := nodes[0].bus, nodes[1].bus
	step := func(d time.Duration) {
		clk.Advance(d)
		bus.Tick(a)
		bus.Tick(b)
	}
	// round sends a heartbeat each way and waits, with time standing still,
	// until each node has answered the other's. Stepping on before that
	// would let leases lapse on the fake clock while messages are still in
	// flight in real time.
	round := func() {
		step(cfg.HeartbeatInterval)
		now := clk.Now()
		eventually(t, "a heartbeat round answered", func() bool {
			return bus.LastAnswered(a, "b").Equal(now) && bus.LastAnswered(b, "a").Equal(now)
		})
	}
	// Each must have the other in its view: a node alone holds its lease.
	eventually(t, "both leases, each with the other in view", func() bool {
		round()
		return a.LeaseValid() && b.LeaseValid() && len(a.Members()) == 1 && len(b.Members()) == 1
	})
	// Let one more heartbeat round settle with time standing still.
	round()
	eventually(t, "b's lease renewed", b.LeaseValid)

	faulty[1].Partition(true)
	done := make(chan error, 1)
	go func() {
		_, err := a.PublishStrong(context.Background(), "k", 9, 0)
		done <- err
	}()
	eventually(t, "strong publish pending", func() bool { return bus.Pending(a) == 1 })
	// The proof runs from the last time a answered b's heartbeat (b's
	// lease cannot outlast it), which a heartbeat still in flight at the
	// partition may move past the partition.
	lapse := bus.LapseWait(cfg)
	const tick = 10 * time.Millisecond
	var last time.Time // as of the step that resolved the write
	for bus.Pending(a) == 1 {
		last = bus.LastAnswered(a, "b")
		if since := clk.Now().Sub(last); since > lapse+tick {
			t.Fatalf("writer still waits %v after it last answered b; lapse wait is %v", since, lapse)
		}
		step(tick)
	}
	if b.LeaseValid() {
		t.Fatalf("writer counted b as lapsed while b still holds its lease")
	}
	if since := clk.Now().Sub(last); since < lapse {
		t.Fatalf("writer counted b as lapsed %v after it last answered b; want not before the lapse wait %v", since, lapse)
	}
	if err := <-done; err != nil {
		t.Fatalf("PublishStrong with quorum 0: %v", err)
	}

	// With quorum 1 the lapsed peer's missing ack fails the write at the
	// deadline.
	go func() {
		_, err := a.PublishStrong(context.Background(), "k", 10, 1)
		done <- err
	}()
	eventually(t, "strong publish pending", func() bool { return bus.Pending(a) == 1 })
	step(cfg.StrongTimeout)
	if err := <-done; !errors.Is(err, bus.ErrQuorum) {
		t.Fatalf("PublishStrong with quorum 1: got %v; want ErrQuorum", err)
	}
}

// networkTransport hides that the transport it wraps stays in the process,
// as a NATS or Kafka transport would.
type networkTransport struct{ bus.Transport }

// A network transport without keys starts only when Insecure says so.
func TestInsecureStarts(t *testing.T) {
	t.Parallel()
	trs, _ := inprocTransports(1)
	c := fastConfig("c", "n", networkTransport{trs[0]}, bustest.NewApplier(), nil)
	c.Keys, c.Insecure = nil, true
	b, err := bus.New(newSystem(t), c)
	if err != nil {
		t.Fatalf("Insecure without keys: %v", err)
	}
	_ = b.Close()
}

func TestConfigInvalid(t *testing.T) {
	t.Parallel()
	trs, _ := inprocTransports(1)
	ok := fastConfig("c", "n", trs[0], bustest.NewApplier(), nil)
	tests := []struct {
		name string
		edit func(*bus.Config)
	}{
		{"no cluster", func(c *bus.Config) { c.Cluster = "" }},
		{"no node", func(c *bus.Config) { c.NodeID = "" }},
		{"no transport", func(c *bus.Config) { c.Transport = nil }},
		{"no applier", func(c *bus.Config) { c.Applier = nil }},
		{"lease not above heartbeat", func(c *bus.Config) { c.LeaseDuration = c.HeartbeatInterval }},
		{"drift", func(c *bus.Config) { c.MaxClockDrift = 0.9 }},
		{"peer timeout under lapse", func(c *bus.Config) { c.PeerTimeout = c.LeaseDuration }},
		{"network transport without keys", func(c *bus.Config) { c.Transport, c.Keys = networkTransport{c.Transport}, nil }},
		{"bad key", func(c *bus.Config) { c.Keys = []wire.Key{{ID: 1, Secret: []byte("short")}} }},
		{"three keys", func(c *bus.Config) {
			c.Keys = []wire.Key{wire.GenerateKey(1), wire.GenerateKey(2), wire.GenerateKey(3)}
		}},
		{"too many peers", func(c *bus.Config) { c.MaxPeers = 1<<16 + 1 }},
		{"membership lease under four ticks", func(c *bus.Config) { c.MemberLease = time.Millisecond }},
	}
	sys := newSystem(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			if _, err := bus.New(sys, c); !errors.Is(err, bus.ErrInvalid) {
				t.Fatalf("got %v; want ErrInvalid", err)
			}
		})
	}
}

// muteSends drops every Send while mute is set (acks and heartbeat
// answers go by Send); broadcasts, Leave among them, still go out.
type muteSends struct {
	bus.Transport
	mute atomic.Bool
}

func (m *muteSends) Send(node string, msg []byte) error {
	if m.mute.Load() {
		return nil
	}
	return m.Transport.Send(node, msg)
}

// A peer that sent Leave counts as resolved: a strong write waiting for
// its ack returns once the Leave arrives, with the clock standing still,
// so neither the lapse wait nor the deadline can be what ended it, and the
// peer leaves the writer's view.
func TestLeaveResolvesStrongWrite(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{}
	trs, _ := inprocTransports(2)
	muted := &muteSends{Transport: trs[1]}
	sys := newSystem(t)
	buses := make([]*bus.Bus, 2)
	var cfg bus.Config
	for i, tr := range []bus.Transport{trs[0], muted} {
		cfg = bus.Config{
			Cluster: clusterOf(t), NodeID: []string{"a", "b"}[i], Transport: tr, Applier: bustest.NewApplier(), Keys: testKeys,
			Now: clk.Now, HeartbeatInterval: 100 * time.Millisecond, LeaseDuration: 500 * time.Millisecond,
			PeerTimeout: 5 * time.Second, StrongTimeout: 3 * time.Second,
		}
		b, err := bus.NewManual(sys, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		buses[i] = b
	}
	a, b := buses[0], buses[1]
	eventually(t, "both leases, each with the other in view", func() bool {
		clk.Advance(cfg.HeartbeatInterval)
		bus.Tick(a)
		bus.Tick(b)
		return a.LeaseValid() && b.LeaseValid() && len(a.Members()) == 1 && len(b.Members()) == 1
	})

	muted.mute.Store(true) // b applies the write but its ack never reaches a
	done := make(chan error, 1)
	go func() {
		_, err := a.PublishStrong(context.Background(), "k", 9, 0)
		done <- err
	}()
	eventually(t, "strong publish pending", func() bool { return bus.Pending(a) == 1 })
	bus.Sync(b)
	bus.Tick(a) // time stands still: b is neither acked nor lapsed
	if n := bus.Pending(a); n != 1 {
		t.Fatalf("%d strong publishes pending before b left; want 1", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("PublishStrong after the only peer left: %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("strong publish still waiting after the peer's Leave")
	}
	eventually(t, "b out of a's view", func() bool { return len(a.Members()) == 0 })
}

// stateTransport lets a test tell the bus about connection state changes
// its transport did not make.
type stateTransport struct {
	bus.Transport
	h atomic.Pointer[bus.Handler]
}

func (t *stateTransport) Open(cluster, node string, h bus.Handler) error {
	t.h.Store(&h)
	return t.Transport.Open(cluster, node, h)
}

// LastLease is the lease while there is one, and once the bus gives it up
// (here a disconnect, long before its deadline), the moment it did: what a
// serve-stale read without the lease counts its maxAge from.
func TestLastLeaseIsWhenTheLeaseWasGivenUp(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{}
	trs, _ := inprocTransports(1)
	tr := &stateTransport{Transport: trs[0]}
	cfg := fastConfig(clusterOf(t), "a", tr, bustest.NewApplier(), nil)
	cfg.Now = clk.Now
	b, err := bus.NewManual(newSystem(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if got := b.LastLease(); got != 0 {
		t.Fatalf("LastLease before any lease = %d; want 0", got)
	}
	step := func() { clk.Advance(cfg.HeartbeatInterval); bus.Tick(b) }
	eventually(t, "the lease of a node alone", func() bool { step(); return b.LeaseValid() })
	if got, want := b.LastLease(), b.LeaseUntil(); got != want {
		t.Fatalf("LastLease while the lease holds = %d; want LeaseUntil %d", got, want)
	}
	clk.Advance(time.Second)
	given := clk.Now().Sub(b.Base())
	(*tr.h.Load()).HandleState(bus.Disconnected)
	eventually(t, "the lease given up", func() bool { bus.Tick(b); return b.LeaseUntil() == 0 })
	clk.Advance(time.Minute) // later readings do not move it
	bus.Tick(b)
	if got := time.Duration(b.LastLease()); got != given {
		t.Fatalf("LastLease after a disconnect = %v since the base; want %v, when it was given up", got, given)
	}
	(*tr.h.Load()).HandleState(bus.Reconnected)
	eventually(t, "the lease back", func() bool { step(); return b.LeaseValid() })
	if got, want := b.LastLease(), b.LeaseUntil(); got != want {
		t.Fatalf("LastLease with the lease back = %d; want LeaseUntil %d", got, want)
	}
}

// A lease whose deadline passed before the bus gave it up ended at its
// deadline: LastLease keeps the deadline, not the later moment.
func TestLastLeaseIsTheDeadlineWhenItPassedFirst(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{}
	trs, _ := inprocTransports(1)
	tr := &stateTransport{Transport: trs[0]}
	cfg := fastConfig(clusterOf(t), "a", tr, bustest.NewApplier(), membershipOf(t))
	cfg.Now = clk.Now
	b, err := bus.NewManual(newSystem(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	step := func() { clk.Advance(cfg.HeartbeatInterval); bus.Tick(b) }
	eventually(t, "the lease of a member alone", func() bool { step(); return b.LeaseValid() })
	deadline := b.LeaseUntil()
	if deadline <= 0 || deadline == math.MaxInt64 {
		t.Fatalf("a member's lease ends at %d: want a deadline", deadline)
	}
	clk.Advance(time.Duration(deadline) + time.Second) // well past it, without a tick
	(*tr.h.Load()).HandleState(bus.Disconnected)
	eventually(t, "the lease given up", func() bool { return b.LeaseUntil() == 0 })
	if got := b.LastLease(); got != deadline {
		t.Fatalf("LastLease = %v since the base; want the deadline %v, which passed before the bus gave the lease up", time.Duration(got), time.Duration(deadline))
	}
}
