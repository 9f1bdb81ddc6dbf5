package natslock_test

import (
	"strings"
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/natsbus"
)

// TestThirdClientBusSubjects: another service's client publishes on a Warp
// cluster's bus subjects and listens to them. Without permissions a node
// gets its messages and it reads the bus; with the permissions of
// docs/security.md, or in a dedicated account, it does neither (and with
// the permissions the server reports both as violations). Without the
// publish line's "warp.>" a node gets the forged messages; without the
// subscribe line the other client reads the bus.
func TestThirdClientBusSubjects(t *testing.T) {
	t.Parallel()
	forEachDeployment(t, func(t *testing.T, d deployment, srv *natsbus.Server) {
		got := make(chan string, 16)
		openNode(t, srv, "n1", func(m []byte) { got <- string(m) })
		n2 := openNode(t, srv, "n2", func([]byte) {})
		onc, oerrs := connectOther(t, srv)
		sub, err := onc.SubscribeSync("warp.>")
		if err != nil {
			t.Fatal(err)
		}
		for _, subj := range []string{"warp.c.bcast", "warp.c.node.n1"} {
			if err := onc.Publish(subj, []byte("forged")); err != nil {
				t.Fatal(err)
			}
		}
		if err := onc.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := n2.Broadcast([]byte("genuine")); err != nil {
			t.Fatal(err)
		}
		// Bounded: what the node receives in 500 ms, and whether the
		// other client read the broadcast.
		var msgs []string
		for deadline := time.After(500 * time.Millisecond); ; {
			select {
			case m := <-got:
				msgs = append(msgs, m)
				continue
			case <-deadline:
			}
			break
		}
		read := false // the other client got the genuine broadcast
		for m, err := sub.NextMsg(100 * time.Millisecond); err == nil; m, err = sub.NextMsg(100 * time.Millisecond) {
			read = read || string(m.Data) == "genuine"
		}
		forged := strings.Contains(strings.Join(msgs, ","), "forged")
		if !strings.Contains(strings.Join(msgs, ","), "genuine") {
			t.Fatalf("node n1 got %q; want the genuine broadcast", msgs)
		}
		if forged != d.lets(busPublish) || read != d.lets(busRead) {
			t.Errorf("node got %q, other read the bus: %v; want forged messages received: %v, the bus read: %v",
				msgs, read, d.lets(busPublish), d.lets(busRead))
		}
		if d.refuses {
			var want []string
			if !d.lets(busPublish) {
				want = append(want, "Permissions Violation for Publish to \"warp.c.bcast\"")
			}
			if !d.lets(busRead) {
				want = append(want, "Permissions Violation for Subscription to \"warp.>\"")
			}
			expectViolation(t, oerrs, want...)
		}
	})
}

// openNode dials srv as Warp's user and opens the bus transport of node id
// in cluster "c".
func openNode(t *testing.T, srv *natsbus.Server, id string, msg func([]byte)) *natsbus.Transport {
	t.Helper()
	tr := dialWarp(t, srv)
	if err := tr.Open("c", id, bus.HandlerFuncs{Message: msg}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return tr
}
