package bus_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/faultbus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages/wire"
)

// gatedTransport blocks Broadcast while block is set, until open is
// closed.
type gatedTransport struct {
	bus.Transport
	block atomic.Bool
	open  chan struct{}
}

func (g *gatedTransport) Broadcast(msg []byte) error {
	if g.block.Load() {
		<-g.open
	}
	return g.Transport.Broadcast(msg)
}

// holdStream, while armed, holds the next Broadcast that carries a stream
// envelope (Seq != 0): it tells entered, then waits for release (or for
// done to close).
type holdStream struct {
	bus.Transport
	kr      *wire.Keyring // opens the sealed messages
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
	done    chan struct{}
}

func (h *holdStream) Broadcast(msg []byte) error {
	body, _ := h.kr.Open(msg)
	envs, _ := wire.Decode(body)
	if len(envs) > 0 && envs[0].Seq != 0 && h.armed.Swap(false) {
		h.entered <- struct{}{}
		select {
		case <-h.release:
		case <-h.done:
		}
	}
	return h.Transport.Broadcast(msg)
}

func inprocTransports(n int) ([]bus.Transport, []*inproc.Transport) {
	hub := inproc.NewHub()
	trs, raw := make([]bus.Transport, n), make([]*inproc.Transport, n)
	for i := range trs {
		raw[i] = hub.Transport()
		trs[i] = raw[i]
	}
	return trs, raw
}

func faultTransports(n int, seed uint64) ([]bus.Transport, []*faultbus.Transport) {
	hub := inproc.NewHub()
	trs, faulty := make([]bus.Transport, n), make([]*faultbus.Transport, n)
	for i := range trs {
		faulty[i] = faultbus.New(hub.Transport(), seed+uint64(i))
		trs[i] = faulty[i]
	}
	return trs, faulty
}

func TestEventualReachesEveryPeer(t *testing.T) {
	t.Parallel()
	trs, _ := inprocTransports(3)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	keys := publishKeys(nodes[0].bus, "k", 200)
	nodes[0].bus.PublishPrefix("user:")
	for _, n := range nodes[1:] {
		allApplied(t, n.app, keys)
		n.app.Wait(t, "prefix", func() bool { return len(n.app.Prefixes) == 1 && n.app.Prefixes[0] == "user:" })
	}
	if got := nodes[0].app.Version("k1"); got != 0 {
		t.Fatalf("writer applied its own publish: version %d; want 0", got)
	}
	// Published counts once the transport's Broadcast returned, which may
	// be after the peers applied what it delivered.
	eventually(t, "Published = 201", func() bool { return nodes[0].bus.Stats().Published == 201 })
	if s := nodes[0].bus.Stats(); s.Published != 201 {
		t.Fatalf("Published = %d; want 201", s.Published)
	}
}

func TestFaultsAreRepaired(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults faultbus.Faults
		gaps   bool // expect gaps to be detected
	}{
		{"drop 10%", faultbus.Faults{Drop: 0.1}, true},
		{"duplicate and reorder", faultbus.Faults{Duplicate: 0.3, Reorder: 0.3}, false},
		{"delay and drop", faultbus.Faults{Delay: 5 * time.Millisecond, Drop: 0.1}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			trs, faulty := faultTransports(3, uint64(100*i))
			nodes := startNodes(t, trs, nil)
			converged(t, nodes)
			for _, f := range faulty {
				f.SetFaults(tt.faults)
			}
			// Chunks, each awaited, so the stream spans many messages.
			keys := map[string]merge.Version{}
			// A key counts as repaired when it is applied, or when a flush
			// covered it: a gap whose retransmissions keep being lost ends
			// in a flush after RetransmitTries, as it should.
			var flushes [3]int
			for i, n := range nodes {
				flushes[i] = n.app.FlushCount()
			}
			for c := range 30 {
				before := nodes[1].app.FlushCount() // a flush after this covers the chunk
				chunk := publishKeys(nodes[0].bus, fmt.Sprintf("k%d-", c), 10)
				allCovered(t, nodes[1].app, chunk, before)
				maps.Copy(keys, chunk)
			}
			for i, n := range nodes {
				flushes[i] = min(flushes[i], n.app.FlushCount())
			}
			more := publishKeys(nodes[1].bus, "m", 100)
			for i, n := range nodes[1:] {
				allCovered(t, n.app, keys, flushes[i+1])
			}
			allCovered(t, nodes[0].app, more, flushes[0])
			allCovered(t, nodes[2].app, more, flushes[2])
			var injected faultbus.Stats
			for _, f := range faulty {
				fs := f.Stats()
				injected.Dropped += fs.Dropped
				injected.Duplicated += fs.Duplicated
				injected.Reordered += fs.Reordered
			}
			if tt.faults.Drop > 0 && injected.Dropped == 0 ||
				tt.faults.Duplicate > 0 && injected.Duplicated == 0 ||
				tt.faults.Reorder > 0 && injected.Reordered == 0 {
				t.Errorf("faults not injected: %+v", injected)
			}
			var gaps uint64
			for _, n := range nodes {
				s := n.bus.Stats()
				gaps += s.Gaps
				if s.Applied > 400 {
					t.Errorf("applied %d events; want at most the 400 published (duplicates applied twice)", s.Applied)
				}
			}
			if tt.gaps && gaps == 0 {
				t.Errorf("got no gaps detected under %+v", tt.faults)
			}
		})
	}
}

func TestStrongQuorum(t *testing.T) {
	t.Parallel()
	trs, _ := inprocTransports(3)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	acked, err := nodes[0].bus.PublishStrong(ctx, "k", 7, 2)
	if err != nil || acked != 2 {
		t.Fatalf("PublishStrong = %d, %v; want 2, nil", acked, err)
	}
	for _, n := range nodes[1:] {
		if got := n.app.Version("k"); got != 7 {
			t.Fatalf("peer holds version %d after the strong publish returned; want 7 applied", got)
		}
	}
}

func TestStrongQuorumAboveLivePeers(t *testing.T) {
	t.Parallel()
	trs, _ := inprocTransports(3)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	start := time.Now()
	acked, err := nodes[0].bus.PublishStrong(context.Background(), "k", 1, 3)
	if !errors.Is(err, bus.ErrQuorum) {
		t.Fatalf("PublishStrong = %d, %v; want ErrQuorum", acked, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("failed after %v; want at once", d)
	}
	t.Log(err)
}

func TestStrongAloneWithoutQuorum(t *testing.T) {
	t.Parallel()
	trs, _ := inprocTransports(1)
	nodes := startNodes(t, trs, nil)
	if acked, err := nodes[0].bus.PublishStrong(context.Background(), "k", 1, 0); err != nil || acked != 0 {
		t.Fatalf("PublishStrong alone = %d, %v; want 0, nil", acked, err)
	}
	if _, err := nodes[0].bus.PublishStrong(context.Background(), "k", 2, 1); !errors.Is(err, bus.ErrQuorum) {
		t.Fatalf("PublishStrong quorum 1 alone: got %v; want ErrQuorum", err)
	}
}

// A partitioned peer that does not ack is counted once its lease lapsed:
// quorum 1 of 2 peers then succeeds, after the lapse wait.
func TestStrongCountsLapsedPeer(t *testing.T) {
	t.Parallel()
	trs, faulty := faultTransports(3, 7)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	faulty[2].Partition(true)
	start := time.Now()
	acked, err := nodes[0].bus.PublishStrong(context.Background(), "k", 3, 1)
	if err != nil || acked != 1 {
		t.Fatalf("PublishStrong = %d, %v; want 1, nil", acked, err)
	}
	lapse := bus.LapseWait(fastConfig("c", "n", trs[0], nodes[0].app, nil))
	// The writer's last answer may predate the partition by a heartbeat
	// or two; the exact bound is checked on an injected clock in
	// TestLeaseLapseInjectedClock.
	if d := time.Since(start); d < lapse/2 {
		t.Fatalf("returned after %v; want about the lapse wait %v", d, lapse)
	}
	if nodes[2].bus.LeaseValid() {
		t.Fatal("partitioned peer still holds its lease after the writer counted it as lapsed")
	}
	// Quorum 2 cannot be met: the lapsed peer does not ack.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := nodes[0].bus.PublishStrong(ctx, "k", 4, 2); !errors.Is(err, bus.ErrQuorum) {
		t.Fatalf("PublishStrong quorum 2: got %v; want ErrQuorum", err)
	}
	// Healing: the peer repairs with a flush and gets its lease back.
	faulty[2].Partition(false)
	nodes[2].app.Wait(t, "repair flush", func() bool { return nodes[2].app.Flushes > 0 })
	eventually(t, "lease back", nodes[2].bus.LeaseValid)
}

func TestMalformedDropped(t *testing.T) {
	t.Parallel()
	hub := inproc.NewHub()
	trs := []bus.Transport{hub.Transport(), hub.Transport()}
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	raw := hub.Transport()
	if err := raw.Open(t.Name(), "raw", bus.HandlerFuncs{}); err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, msg := range [][]byte{nil, {0}, {1, 2, 3}, {9, 9}} {
		if err := raw.Broadcast(msg); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "malformed counted", func() bool { return nodes[1].bus.Stats().Malformed == 4 })
	keys := publishKeys(nodes[0].bus, "k", 10)
	allApplied(t, nodes[1].app, keys)
}

// What a node missed while disconnected comes back from the origin's ring
// after the reconnect, before its lease does; the reconnect also makes one
// flush due (a node it never heard of may have written and gone while it
// was away), also before the lease returns.
func TestReconnectCatchesUp(t *testing.T) {
	t.Parallel()
	trs, raw := inprocTransports(2)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	flushes := nodes[1].app.Flushes
	raw[1].Disconnect()
	eventually(t, "lease off while disconnected", func() bool { return !nodes[1].bus.LeaseValid() })
	lost := publishKeys(nodes[0].bus, "lost", 5)
	eventually(t, "the lost envelopes published", func() bool { return nodes[0].bus.Stats().Published >= 5 })
	// A lease from an answer before the cut still vouches for what was
	// sent before it; wait until it ran out.
	eventually(t, "the lease from before the cut expired", func() bool { return time.Now().After(bus.PeerLease(nodes[1].bus, "n0")) })
	raw[1].Reconnect()
	eventually(t, "lease back", nodes[1].bus.LeaseValid)
	// The lease came back only once the lost envelopes were applied.
	for k, v := range lost {
		if got := nodes[1].app.Version(k); got != v {
			t.Fatalf("lease back while %s is at %d; want %d first", k, got, v)
		}
	}
	if s := nodes[1].bus.Stats(); s.Repairs != 1 || nodes[1].app.Flushes != flushes+1 || nodes[0].bus.Stats().Retransmits == 0 {
		t.Fatalf("after the reconnect: %d repairs, %d flushes (%d before), %d retransmits; want a catch-up by retransmission and one flush",
			s.Repairs, nodes[1].app.Flushes, flushes, nodes[0].bus.Stats().Retransmits)
	}
	allApplied(t, nodes[1].app, publishKeys(nodes[0].bus, "k", 10))
}

func TestRestartIsNoGap(t *testing.T) {
	t.Parallel()
	hub := inproc.NewHub()
	nodes := startNodes(t, []bus.Transport{hub.Transport(), hub.Transport()}, nil)
	converged(t, nodes)
	allApplied(t, nodes[1].app, publishKeys(nodes[0].bus, "a", 50))
	if err := nodes[0].bus.Close(); err != nil {
		t.Fatal(err)
	}
	again := startNodes(t, []bus.Transport{hub.Transport()}, func(c *bus.Config) {
		c.Cluster, c.NodeID = clusterOf(t), "n0"
	})
	allApplied(t, nodes[1].app, publishKeys(again[0].bus, "b", 50))
	if s := nodes[1].bus.Stats(); s.Gaps != 0 || s.Repairs != 0 {
		t.Fatalf("restart caused %d gaps, %d repairs; want none", s.Gaps, s.Repairs)
	}
}

// Published counts an envelope once the transport's Broadcast call for it
// has returned, not before (an eventual publish, then a strong one): the
// gap tests heal a cut once Published counts what was sent during it.
func TestPublishedCountsAfterBroadcast(t *testing.T) {
	t.Parallel()
	hub := inproc.NewHub()
	kr, err := wire.NewKeyring(clusterOf(t), testKeys...)
	if err != nil {
		t.Fatal(err)
	}
	hold := &holdStream{Transport: hub.Transport(), kr: kr, entered: make(chan struct{}, 1),
		release: make(chan struct{}), done: make(chan struct{})}
	nodes := startNodes(t, []bus.Transport{hold, hub.Transport()}, nil)
	t.Cleanup(func() { close(hold.done) }) // before the buses close, which waits for their actors
	w := nodes[0].bus
	held := func(what string, want uint64) {
		t.Helper()
		select {
		case <-hold.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("the %s never reached the transport", what)
		}
		if s := w.Stats(); s.Published != want {
			t.Fatalf("Published = %d while the transport holds the %s; want %d", s.Published, what, want)
		}
		hold.release <- struct{}{}
		eventually(t, "the "+what+" counted", func() bool { return w.Stats().Published == want+1 })
	}
	hold.armed.Store(true)
	w.Publish("k", 1)
	held("publish", 0)
	allApplied(t, nodes[1].app, map[string]merge.Version{"k": 1})

	hold.armed.Store(true)
	strong := make(chan error, 1)
	go func() {
		_, err := w.PublishStrong(context.Background(), "s", 2, 0)
		strong <- err
	}()
	held("strong publish", 1)
	if err := <-strong; err != nil {
		t.Fatalf("PublishStrong: %v", err)
	}
}

func TestOverflowEscalatesToFlush(t *testing.T) {
	t.Parallel()
	hub := inproc.NewHub()
	gate := &gatedTransport{Transport: hub.Transport(), open: make(chan struct{})}
	nodes := startNodes(t, []bus.Transport{gate, hub.Transport()}, func(c *bus.Config) {
		if c.NodeID == "n0" {
			c.QueueSize = 4
		}
	})
	gate.block.Store(true)
	for i := range 100 {
		nodes[0].bus.Publish("k", merge.Version(i+1))
	}
	close(gate.open)
	nodes[1].app.Wait(t, "flush broadcast", func() bool { return nodes[1].app.Flushes > 0 })
	if s := nodes[0].bus.Stats(); s.Overflows == 0 {
		t.Fatalf("got no overflows: %+v", s)
	}
}

// A publish that cannot be encoded (a key over wire.MaxKeyLen, a version
// over merge.MaxVersion) would void the batch it joins; it becomes a flush
// broadcast and an error on Errors, and the publishes beside it arrive.
func TestInvalidPublishBecomesFlush(t *testing.T) {
	t.Parallel()
	trs, _ := inprocTransports(2)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	for _, publish := range []func(){
		func() { nodes[0].bus.Publish(strings.Repeat("k", wire.MaxKeyLen+1), 1) },
		func() { nodes[0].bus.Publish("k", merge.MaxVersion+1) },
		func() { nodes[0].bus.PublishPrefix(strings.Repeat("p", wire.MaxKeyLen+1)) },
	} {
		flushes := nodes[1].app.FlushCount()
		publish()
		keys := publishKeys(nodes[0].bus, "ok", 3)
		nodes[1].app.Wait(t, "the flush broadcast", func() bool { return nodes[1].app.Flushes > flushes })
		allApplied(t, nodes[1].app, keys)
		select {
		case err := <-nodes[0].bus.Errors():
			if !errors.Is(err, bus.ErrInvalid) {
				t.Fatalf("reported %v; want ErrInvalid", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the invalid publish was not reported")
		}
	}
}

func TestCloseIdempotentAndFailsPending(t *testing.T) {
	t.Parallel()
	trs, faulty := faultTransports(2, 3)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	faulty[1].Partition(true)
	done := make(chan error, 1)
	go func() {
		_, err := nodes[0].bus.PublishStrong(context.Background(), "k", 1, 1)
		done <- err
	}()
	bus.Sync(nodes[0].bus)
	if err := nodes[0].bus.Close(); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].bus.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, bus.ErrClosed) && !errors.Is(err, bus.ErrQuorum) {
		t.Fatalf("pending strong publish: got %v; want ErrClosed", err)
	}
	if _, err := nodes[0].bus.PublishStrong(context.Background(), "k", 2, 0); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("PublishStrong after Close: got %v; want ErrClosed", err)
	}
	nodes[0].bus.Publish("k", 3) // a no-op, not a panic
}

func TestApplierFailureReportedAndRepaired(t *testing.T) {
	t.Parallel()
	trs, _ := inprocTransports(2)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	nodes[1].app.Fail.Store(true)
	nodes[0].bus.Publish("k", 1)
	select {
	case err := <-nodes[1].bus.Errors():
		if !errors.Is(err, bus.ErrApply) {
			t.Fatalf("got %v; want ErrApply", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error reported")
	}
	eventually(t, "lease off until repaired", func() bool { return !nodes[1].bus.LeaseValid() })
	nodes[1].app.Fail.Store(false)
	nodes[1].app.Wait(t, "repair flush", func() bool { return nodes[1].app.Flushes > 0 })
	eventually(t, "lease back", nodes[1].bus.LeaseValid)
}

// A gap reaching back past the origin's ring is repaired by the origin: it
// answers the retransmit request with a repair flush for what the ring no
// longer holds, then the envelopes it still has. RetransmitTries is set so
// high that the receiver never gives up and flushes on its own: only the
// origin's repair flush can close the hole.
func TestGapBeyondRingGetsRepairFlush(t *testing.T) {
	t.Parallel()
	const ring, lost = 8, 40
	trs, faulty := faultTransports(2, 21)
	nodes := startNodes(t, trs, func(c *bus.Config) {
		c.RingSize = ring
		c.RetransmitTries = 1 << 30
	})
	converged(t, nodes)
	w, r := nodes[0], nodes[1]
	published := w.bus.Stats().Published
	// The writer is cut off, not the receiver: a cut sender drops inside
	// its Broadcast call, which Published counts after, so the envelopes
	// are lost for sure before the cut heals. A cut receiver drops at
	// delivery, which may come after the heal.
	faulty[0].Partition(true)
	publishKeys(w.bus, "lost", lost)
	eventually(t, "lost envelopes broadcast", func() bool { return w.bus.Stats().Published == published+lost })
	faulty[0].Partition(false)

	after := publishKeys(w.bus, "after", 3)
	allApplied(t, r.app, after)
	r.app.Wait(t, "repair flush", func() bool { return r.app.Flushes > 0 })
	eventually(t, "hole closed, lease back", r.bus.LeaseValid)
	// The bus counts the repair once the applier's flush has returned.
	eventually(t, "the repair counted", func() bool { return r.bus.Stats().Repairs > 0 })
	if s := r.bus.Stats(); s.Gaps == 0 || s.Repairs == 0 {
		t.Fatalf("receiver stats %+v; want a gap and a repair", s)
	}
	if s := w.bus.Stats(); s.Retransmits == 0 {
		t.Fatalf("origin stats %+v; want the envelopes its ring still held retransmitted", s)
	}
}

// A gap whose retransmit requests the origin never hears is repaired by
// the receiver alone: after RetransmitTries requests without progress it
// flushes and follows the origin from what it announced.
func TestUnansweredGapFlushesAfterRetransmitTries(t *testing.T) {
	t.Parallel()
	trs, faulty := faultTransports(2, 23)
	muted := &muteSends{Transport: faulty[1]}
	nodes := startNodes(t, []bus.Transport{trs[0], muted}, func(c *bus.Config) { c.RetransmitTries = 2 })
	converged(t, nodes)
	w, r := nodes[0], nodes[1]
	muted.mute.Store(true) // r's retransmit requests never reach w
	published := w.bus.Stats().Published
	faulty[0].Partition(true) // the writer's sends are lost (see TestGapBeyondRingGetsRepairFlush)
	publishKeys(w.bus, "lost", 5)
	eventually(t, "lost envelopes broadcast", func() bool { return w.bus.Stats().Published == published+5 })
	faulty[0].Partition(false)

	after := publishKeys(w.bus, "after", 3)
	allApplied(t, r.app, after)
	r.app.Wait(t, "the receiver's own flush", func() bool { return r.app.Flushes > 0 })
	// The bus counts the repair once the applier's flush has returned.
	eventually(t, "the repair counted", func() bool { return r.bus.Stats().Repairs > 0 })
	if s := r.bus.Stats(); s.Gaps == 0 || s.Repairs == 0 {
		t.Fatalf("receiver stats %+v; want a gap and a repair", s)
	}
	if s := w.bus.Stats(); s.Retransmits != 0 {
		t.Fatalf("origin retransmitted %d envelopes; want none: it heard no request", s.Retransmits)
	}
}
