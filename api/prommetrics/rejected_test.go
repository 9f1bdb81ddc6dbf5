package prommetrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/api/prommetrics"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/messages/wire"
	"github.com/warpcache/warp/store/memory"
)

// warp_bus_rejected_total counts, by reason, the messages a sealed bus
// dropped on arrival: here one not sealed at all (format) and one sealed
// under another key (unknown_key).
func TestRejectedByReason(t *testing.T) {
	t.Parallel()
	hub := inproc.NewHub()
	reg := prometheus.NewRegistry()
	w, err := api.New[string](memory.New[string](memory.Options{}),
		api.WithNodeConfig[string](actors.Config{ID: "n0"}),
		api.WithBus[string](bus.Config{Cluster: "c", Transport: hub.Transport(), Keys: []wire.Key{wire.GenerateKey(1)}}),
		prommetrics.WithMetrics[string](reg))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	forger := hub.Transport()
	if err := forger.Open("c", "x", bus.HandlerFuncs{}); err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	msg, _ := wire.Append(nil, wire.Envelope{Origin: "x", Epoch: 1, Op: wire.OpFlush, Seq: 1})
	other, _ := wire.NewKeyring("c", wire.GenerateKey(2))
	_ = forger.Broadcast(msg)
	_ = forger.Broadcast(other.Seal(nil, msg))
	deadline := time.Now().Add(10 * time.Second)
	for w.Bus().Stats().Malformed < 2 && time.Now().Before(deadline) {
		<-time.After(time.Millisecond)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{"format", "unknown_key"} {
		if got := value(t, fams, "warp_bus_rejected_total", map[string]string{"reason": reason}); got != 1 {
			t.Errorf("warp_bus_rejected_total{reason=%q} = %v; want 1", reason, got)
		}
	}
}
