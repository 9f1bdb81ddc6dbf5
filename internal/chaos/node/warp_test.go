package node

import (
	"testing"
	"time"

	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/natstest"
)

// The NATS timing the nodes run with is natsbus's default: a transport
// dialled with zero Options pings as natsPing and natsPingsOut say.
func TestNATSTimingIsTheDefault(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	tr, err := natsbus.Dial(srv.URL(), natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Close() }()
	o := tr.Conn().Opts
	if o.PingInterval != natsPing || o.MaxPingsOut != natsPingsOut {
		t.Fatalf("natsbus pings every %v, %d outstanding; want %v, %d (natsPing, natsPingsOut)",
			o.PingInterval, o.MaxPingsOut, natsPing, natsPingsOut)
	}
}

// The staleness bound docs/core.md and docs/reliability.md quote, 515 ms,
// is what the bus's defaults give: LeaseDuration/(1−ρ) + LeaseMargin.
func TestStalenessBoundOfTheDefaults(t *testing.T) {
	t.Parallel()
	if got := StalenessBound().Round(time.Millisecond); got != 515*time.Millisecond {
		t.Fatalf("StalenessBound = %v; want 515ms as the docs say (500ms/0.99 + 10ms)", got)
	}
}
