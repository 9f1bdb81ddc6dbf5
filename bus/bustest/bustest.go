package bustest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
)

// Factory prepares a network for one test and returns a constructor of
// unopened transports that all reach each other on it. It registers its
// own cleanup with t; the suite closes the transports.
type Factory func(t *testing.T) (newTransport func() bus.Transport)

// wait bounds every wait of the suite: generous, since a transport's new
// subscriber may take seconds to be assigned its partitions on a loaded
// host (kafkabus's Close case once missed 5 s during make test).
const wait = 15 * time.Second

// Run runs the contract suite against the transports f makes.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, func() bus.Transport)
	}{
		{"BroadcastReachesOthers", testBroadcast},
		{"SendReachesOnlyTarget", testSend},
		{"OrderPerSender", testOrder},
		{"ClustersIsolated", testIsolation},
		{"ConcurrentSenders", testConcurrent},
		{"LargeMessage", testLarge},
		{"SendToUnknownNode", testUnknown},
		{"Close", testClose},
		{"OpenInvalid", testOpenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, f(t))
		})
	}
}

// recorder is a Handler that keeps what it receives.
type recorder struct {
	ch    chan []byte
	calls atomic.Int64
}

func newRecorder() *recorder { return &recorder{ch: make(chan []byte, 4096)} }

func (r *recorder) HandleMessage(msg []byte) {
	r.calls.Add(1)
	select {
	case r.ch <- bytes.Clone(msg):
	default:
	}
}

func (r *recorder) HandleState(bus.State) {}

// next returns the next message that is not skip.
func (r *recorder) next(t *testing.T, skip string) []byte {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m := <-r.ch:
			if string(m) != skip {
				return m
			}
		case <-deadline:
			t.Fatalf("no message within %v", wait)
			return nil
		}
	}
}

type node struct {
	tr  bus.Transport
	rec *recorder
}

// open opens n transports as nodes n0.. of cluster.
func open(t *testing.T, newTransport func() bus.Transport, cluster string, n int) []node {
	t.Helper()
	nodes := make([]node, n)
	for i := range nodes {
		nodes[i] = one(t, newTransport, cluster, fmt.Sprintf("n%d", i))
	}
	return nodes
}

// one opens one transport as node id of cluster.
func one(t *testing.T, newTransport func() bus.Transport, cluster, id string) node {
	t.Helper()
	n := node{tr: newTransport(), rec: newRecorder()}
	if err := n.tr.Open(cluster, id, n.rec); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = n.tr.Close() })
	return n
}

func clusterName(t *testing.T) string {
	return strings.NewReplacer("/", "_", ".", "_").Replace(t.Name())
}

func testBroadcast(t *testing.T, nt func() bus.Transport) {
	nodes := open(t, nt, clusterName(t), 3)
	if err := nodes[0].tr.Broadcast([]byte("hello")); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	for _, n := range nodes[1:] {
		if got := n.rec.next(t, ""); string(got) != "hello" {
			t.Fatalf("got %q; want hello", got)
		}
	}
}

func testSend(t *testing.T, nt func() bus.Transport) {
	nodes := open(t, nt, clusterName(t), 3)
	if err := nodes[0].tr.Send("n1", []byte("direct")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := nodes[1].rec.next(t, ""); string(got) != "direct" {
		t.Fatalf("got %q; want direct", got)
	}
	// A later message to n2 arrives; the direct one must not have.
	if err := nodes[0].tr.Send("n2", []byte("marker")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := nodes[2].rec.next(t, ""); string(got) != "marker" {
		t.Fatalf("n2 got %q; want only marker", got)
	}
}

func testOrder(t *testing.T, nt func() bus.Transport) {
	nodes := open(t, nt, clusterName(t), 2)
	const n = 300
	for i := range n {
		if err := nodes[0].tr.Broadcast(fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
	}
	for i := range n {
		if got, want := string(nodes[1].rec.next(t, "")), fmt.Sprint(i); got != want {
			t.Fatalf("message %d: got %q; want %q", i, got, want)
		}
	}
}

func testIsolation(t *testing.T, nt func() bus.Transport) {
	a := open(t, nt, clusterName(t)+"_a", 2)
	b := open(t, nt, clusterName(t)+"_b", 1)
	if err := a[0].tr.Broadcast([]byte("for-a")); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	if err := a[0].tr.Send("n0", []byte("for-a-n0")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := a[1].rec.next(t, ""); string(got) != "for-a" {
		t.Fatalf("got %q; want for-a", got)
	}
	// b's n0 shares the node id with a's n0 but not the cluster.
	b2 := one(t, nt, clusterName(t)+"_b", "n1")
	if err := b2.tr.Send("n0", []byte("for-b")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := b[0].rec.next(t, ""); string(got) != "for-b" {
		t.Fatalf("cluster b got %q; want only for-b", got)
	}
}

func testConcurrent(t *testing.T, nt func() bus.Transport) {
	nodes := open(t, nt, clusterName(t), 3)
	const senders, each = 2, 100
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				errs <- nodes[s].tr.Broadcast(fmt.Appendf(nil, "%d-%d", s, i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
	}
	seen := map[string]bool{}
	for len(seen) < senders*each {
		seen[string(nodes[2].rec.next(t, ""))] = true
	}
}

func testLarge(t *testing.T, nt func() bus.Transport) {
	nodes := open(t, nt, clusterName(t), 2)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 16<<10)
	if err := nodes[0].tr.Broadcast(msg); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	if got := nodes[1].rec.next(t, ""); !bytes.Equal(got, msg) {
		t.Fatalf("got %d bytes; want the %d sent", len(got), len(msg))
	}
}

func testUnknown(t *testing.T, nt func() bus.Transport) {
	nodes := open(t, nt, clusterName(t), 1)
	if err := nodes[0].tr.Send("nobody", []byte("x")); err != nil {
		t.Fatalf("Send to an unknown node: got %v; want nil", err)
	}
}

func testClose(t *testing.T, nt func() bus.Transport) {
	nodes := open(t, nt, clusterName(t), 2)
	if err := nodes[1].tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := nodes[1].tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	calls := nodes[1].rec.calls.Load()
	if err := nodes[1].tr.Broadcast([]byte("x")); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Broadcast after Close: got %v; want ErrClosed", err)
	}
	if err := nodes[1].tr.Send("n0", []byte("x")); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Send after Close: got %v; want ErrClosed", err)
	}
	// n0 keeps working, and n1's handler is not called any more.
	third := one(t, nt, clusterName(t), "n2")
	if err := nodes[0].tr.Broadcast([]byte("after")); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	if got := third.rec.next(t, ""); string(got) != "after" {
		t.Fatalf("got %q; want after", got)
	}
	if got := nodes[1].rec.calls.Load(); got != calls {
		t.Fatalf("closed handler called %d times after Close; want 0", got-calls)
	}
}

func testOpenInvalid(t *testing.T, nt func() bus.Transport) {
	for _, tc := range []struct{ cluster, node string }{{"", "n"}, {"c", ""}} {
		tr := nt()
		if err := tr.Open(tc.cluster, tc.node, newRecorder()); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("Open(%q, %q): got %v; want ErrInvalid", tc.cluster, tc.node, err)
		}
		_ = tr.Close()
	}
}
