package bus_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/natstest"
)

// natsNodes starts an embedded server on a random loopback port and n
// transports dialed to it.
func natsNodes(t testing.TB, n int) (*natsbus.Server, []bus.Transport) {
	t.Helper()
	return natsNodesVia(t, n, false)
}

// natsNodesVia is natsNodes with the transports reaching the server over
// in-memory pipes if inProcess.
func natsNodesVia(t testing.TB, n int, inProcess bool) (*natsbus.Server, []bus.Transport) {
	t.Helper()
	srv := natstest.Start(t, nil)
	opts := natsbus.Options{ReconnectWait: 20 * time.Millisecond}
	if inProcess {
		opts.InProcess = srv
	}
	trs := make([]bus.Transport, n)
	for i := range trs {
		tr, err := natsbus.Dial(srv.URL(), opts)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		trs[i] = tr
	}
	return srv, trs
}

// overTransports runs f over TCP and over in-process pipes.
func overTransports(t *testing.T, f func(t *testing.T, inProcess bool)) {
	for _, inProcess := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "in-process"}[inProcess], func(t *testing.T) {
			t.Parallel()
			f(t, inProcess)
		})
	}
}

func TestNATSEventualAndStrong(t *testing.T) {
	t.Parallel()
	overTransports(t, natsEventualAndStrong)
}

func natsEventualAndStrong(t *testing.T, inProcess bool) {
	_, trs := natsNodesVia(t, 3, inProcess)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	keys := publishKeys(nodes[0].bus, "k", 500)
	for _, n := range nodes[1:] {
		allApplied(t, n.app, keys)
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
	start := time.Now()
	if _, err := nodes[1].bus.PublishStrong(ctx, "s", 43, 3); !errors.Is(err, bus.ErrQuorum) {
		t.Fatalf("PublishStrong quorum 3 of 2 peers: got %v; want ErrQuorum", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("ErrQuorum after %v; want at once", d)
	}
}

// A NATS server restart loses what was in flight; the nodes catch up from
// each other's rings once the heartbeat answers reveal it, and each flushes
// once for its reconnect (a node it never heard of may have come and gone).
func TestNATSServerRestartCatchesUp(t *testing.T) {
	t.Parallel()
	overTransports(t, natsServerRestartCatchesUp)
}

func natsServerRestartCatchesUp(t *testing.T, inProcess bool) {
	srv, trs := natsNodesVia(t, 2, inProcess)
	nodes := startNodes(t, trs, nil)
	converged(t, nodes)
	if err := srv.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	converged(t, nodes)
	keys := publishKeys(nodes[0].bus, "k", 50)
	allApplied(t, nodes[1].app, keys)
	eventually(t, "the reconnect's repair flush", func() bool { return nodes[1].bus.Stats().Repairs >= 1 })
	if s := nodes[1].bus.Stats(); s.Repairs != 1 {
		t.Fatalf("%d repair flushes after the restart; want the reconnect's one: %+v", s.Repairs, s)
	}
}

// Two processes that use one node id (a misconfiguration) are told: the
// one that sees the other's broadcasts under a newer epoch counts them as
// RejectSelf and reports an error wrapping ErrInvalid, at most once a
// minute however many arrive.
func TestSharedNodeIDReported(t *testing.T) {
	t.Parallel()
	_, trs := natsNodesVia(t, 3, true)
	nodes := startNodes(t, trs, func(c *bus.Config) {
		if c.NodeID == "n2" {
			c.NodeID = "n0"
		}
	})
	var reported []error
	take := func() {
		for _, n := range []node{nodes[0], nodes[2]} {
			for more := true; more; {
				select {
				case err := <-n.bus.Errors():
					if strings.Contains(err.Error(), "another process uses node id") {
						reported = append(reported, err)
					}
				default:
					more = false
				}
			}
		}
	}
	eventually(t, "20 RejectSelf", func() bool {
		take() // Errors is bounded: keep it from dropping a report
		return nodes[0].bus.Stats().Rejected[bus.RejectSelf]+nodes[2].bus.Stats().Rejected[bus.RejectSelf] >= 20
	})
	take()
	if len(reported) == 0 || len(reported) > 2 {
		t.Fatalf("%d reports of the shared node id for %d messages; want 1 or 2 (once a minute, per process)",
			len(reported), nodes[0].bus.Stats().Rejected[bus.RejectSelf]+nodes[2].bus.Stats().Rejected[bus.RejectSelf])
	}
	for _, err := range reported {
		if !errors.Is(err, bus.ErrInvalid) {
			t.Fatalf("reported %v; want ErrInvalid", err)
		}
	}
}

// Two processes under one node id share its inbox, so each receives the
// answers to the other's heartbeats. The answers must never match one's
// own recent heartbeats: they would renew its lease with answers its
// peers sent the other epoch, which their strong writes no longer wait
// for. Here both join on a clock behind the epochs issued, so the
// epochs differ by 1; heartbeat numbers counted from the epochs overlapped.
func TestSharedIDHeartbeatNumbersApart(t *testing.T) {
	t.Parallel()
	m := clockBehind{bustest.NewMembership()} // the epochs 1 apart
	_, trs := natsNodesVia(t, 2, true)
	buses := make([]*bus.Bus, 2)
	for i, tr := range trs {
		b, err := bus.New(newSystem(t), fastConfig(clusterOf(t), "a", tr, bustest.NewApplier(), m))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		buses[i] = b
	}
	var ns [2][]uint64
	eventually(t, "heartbeats from both", func() bool {
		ns[0], ns[1] = bus.HeartbeatNumbers(buses[0]), bus.HeartbeatNumbers(buses[1])
		return len(ns[0]) >= 3 && len(ns[1]) >= 3
	})
	for _, n := range ns[0] {
		if slices.Contains(ns[1], n) {
			t.Fatalf("heartbeat number %d is recent in both processes under node id a (%v and %v)", n, ns[0], ns[1])
		}
	}
}
