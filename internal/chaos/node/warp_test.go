package node

import (
	"testing"

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
