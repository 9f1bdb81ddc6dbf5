package kafkabus_test

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/bus/kafkabus"
)

// The same contract suite as the inproc and NATS transports, on a kfake
// cluster; one inbox partition per cluster on one side, many on the other.
func TestContract(t *testing.T) {
	tests := []struct {
		name string
		opts kafkabus.Options
	}{
		{"defaults", kafkabus.Options{}},
		{"shared inbox partition", kafkabus.Options{InboxPartitions: 1, BroadcastPartitions: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t)
			bustest.Run(t, func(t *testing.T) func() bus.Transport {
				return func() bus.Transport { return newTransport(t, c, tt.opts) }
			})
		})
	}
}

func TestNewInvalid(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	seeds := c.ListenAddrs()
	tests := []struct {
		name string
		opts kafkabus.Options
	}{
		{"no seeds", kafkabus.Options{}},
		{"bad prefix", kafkabus.Options{Seeds: seeds, TopicPrefix: "a/b"}},
		{"negative partitions", kafkabus.Options{Seeds: seeds, InboxPartitions: -1}},
		{"zero replication", kafkabus.Options{Seeds: seeds, ReplicationFactor: -2}},
		{"consumer group", kafkabus.Options{Seeds: seeds, ClientOptions: []kgo.Opt{kgo.ConsumerGroup("g")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := kafkabus.New(tt.opts)
			if !errors.Is(err, bus.ErrInvalid) {
				if tr != nil {
					_ = tr.Close()
				}
				t.Fatalf("New: got %v; want ErrInvalid", err)
			}
		})
	}
}

func TestOpenRejectsBadNames(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	long := string(bytes.Repeat([]byte("c"), 250))
	for _, tc := range []struct{ cluster, node string }{{"a.b", "n"}, {"c*", "n"}, {"x y", "n"}, {long, "n"}} {
		tr := newTransport(t, c, kafkabus.Options{})
		if err := tr.Open(tc.cluster, tc.node, bus.HandlerFuncs{}); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("Open(%q, %q): got %v; want ErrInvalid", tc.cluster, tc.node, err)
		}
	}
}

// Node ids are record keys, not topic names: any string works.
func TestNodeIDsNeedNotBeTopicNames(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	got := make(chan string, 1)
	a, b := newTransport(t, c, kafkabus.Options{}), newTransport(t, c, kafkabus.Options{})
	if err := a.Open("c", "node a/1.x", bus.HandlerFuncs{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Open("c", "nøde b*", bus.HandlerFuncs{Message: func(m []byte) { got <- string(m) }}); err != nil {
		t.Fatal(err)
	}
	if err := a.Send("nøde b*", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "hi" {
			t.Fatalf("got %q; want hi", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
	}
}

func TestMessageOverLimit(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	tr := newTransport(t, c, kafkabus.Options{MaxMessageBytes: 1000})
	if err := tr.Open("c", "n", bus.HandlerFuncs{}); err != nil {
		t.Fatal(err)
	}
	for name, send := range map[string]func([]byte) error{
		"Broadcast": tr.Broadcast,
		"Send":      func(m []byte) error { return tr.Send("n2", m) },
	} {
		if err := send(make([]byte, 1001)); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("%s of 1001 bytes: got %v; want ErrInvalid", name, err)
		}
	}
	if err := tr.Broadcast(make([]byte, 1000)); err != nil {
		t.Errorf("Broadcast of 1000 bytes: %v", err)
	}
}

func TestBeforeOpen(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	tr := newTransport(t, c, kafkabus.Options{})
	if err := tr.Broadcast([]byte("x")); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Broadcast before Open: got %v; want ErrInvalid", err)
	}
	if err := tr.Send("n", []byte("x")); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Send before Open: got %v; want ErrInvalid", err)
	}
	if err := tr.Open("c", "n", bus.HandlerFuncs{}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Open("c", "n", bus.HandlerFuncs{}); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("second Open: got %v; want ErrInvalid", err)
	}
}

// Stats count what was sent, delivered and skipped: a node's own
// broadcast and inbox messages for another node on its partition.
func TestStats(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	got := make(chan string, 4)
	var states atomic.Int64
	opts := kafkabus.Options{InboxPartitions: 1}
	a, b := newTransport(t, c, opts), newTransport(t, c, opts)
	if err := a.Open("c", "a", bus.HandlerFuncs{}); err != nil {
		t.Fatal(err)
	}
	h := bus.HandlerFuncs{Message: func(m []byte) { got <- string(m) }, State: func(bus.State) { states.Add(1) }}
	if err := b.Open("c", "b", h); err != nil {
		t.Fatal(err)
	}
	for _, send := range []func() error{
		func() error { return a.Send("a", []byte("self")) },
		func() error { return b.Broadcast([]byte("own")) },
		func() error { return a.Send("b", []byte("last")) },
	} {
		if err := send(); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case m := <-got:
		if m != "last" {
			t.Fatalf("b got %q; want last only", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
	}
	// One inbox partition: b fetched a's self-send before "last"; its own
	// broadcast is on the other topic and may come later.
	if s := b.Stats(); s.Sent != 1 || s.Received != 1 || s.Skipped < 1 || s.Failed != 0 {
		t.Fatalf("b stats %+v; want Sent 1, Received 1, Skipped ≥ 1, Failed 0", s)
	}
	if n := states.Load(); n != 0 {
		t.Fatalf("got %d state changes on a healthy broker; want 0", n)
	}
	if s := a.Stats(); s.Sent != 2 {
		t.Fatalf("a stats %+v; want Sent 2", s)
	}
}
