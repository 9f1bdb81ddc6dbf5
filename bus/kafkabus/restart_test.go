package kafkabus_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/kafkabus"
)

// restartable is a kfake broker that persists to a directory, so that a
// restart on the same port keeps topics and offsets, like a real broker.
type restartable struct {
	t    *testing.T
	dir  string
	port int
	c    *kfake.Cluster
}

func startRestartable(t *testing.T) *restartable {
	r := &restartable{t: t, dir: t.TempDir()}
	r.start()
	_, p, err := net.SplitHostPort(r.c.ListenAddrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	r.port, _ = strconv.Atoi(p)
	t.Cleanup(func() { r.c.Close() })
	return r
}

func (r *restartable) start() {
	r.t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(r.port), kfake.DataDir(r.dir))
	if err != nil {
		r.t.Fatalf("kfake.NewCluster: %v", err)
	}
	r.c = c
}

// A broker restart is reported as Disconnected then Reconnected, and what
// was sent while the broker was down arrives afterwards: unlike core
// NATS, the producer buffers and retries and the broker stores.
func TestRestartReportsStates(t *testing.T) {
	t.Parallel()
	srv := startRestartable(t)
	states := make(chan bus.State, 16)
	msgs := make(chan string, 16)
	opts := kafkabus.Options{Seeds: srv.c.ListenAddrs(), ClientOptions: []kgo.Opt{
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
	}}
	var trs []*kafkabus.Transport
	for _, id := range []string{"a", "b"} {
		tr, err := kafkabus.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		h := bus.Handler(bus.HandlerFuncs{})
		if id == "b" {
			h = bus.HandlerFuncs{
				Message: func(m []byte) { msgs <- string(m) },
				State:   func(s bus.State) { states <- s },
			}
		}
		if err := tr.Open("c", id, h); err != nil {
			t.Fatal(err)
		}
		trs = append(trs, tr)
	}
	if err := trs[0].Send("b", []byte("before")); err != nil {
		t.Fatal(err)
	}
	if m := next(t, msgs); m != "before" {
		t.Fatalf("got %q; want before", m)
	}
	srv.c.Close()
	if s := nextState(t, states); s != bus.Disconnected {
		t.Fatalf("got state %v; want disconnected", s)
	}
	if err := trs[0].Send("b", []byte("during")); err != nil {
		t.Fatal(err)
	}
	srv.start()
	if s := nextState(t, states); s != bus.Reconnected {
		t.Fatalf("got state %v; want reconnected", s)
	}
	if m := next(t, msgs); m != "during" {
		t.Fatalf("got %q; want during", m)
	}
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return ""
	}
}

func nextState(t *testing.T, ch <-chan bus.State) bus.State {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no state within 10s")
		return 0
	}
}
