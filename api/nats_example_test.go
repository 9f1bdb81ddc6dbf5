package api_test

import (
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natsbus"
)

// startJetStream starts a nats-server with JetStream inside the process,
// on a free loopback port, and connects to it, so that the examples of
// locks and leases need no server installed. stop closes the connection,
// stops the server and removes its files.
func startJetStream() (js jetstream.JetStream, stop func()) {
	dir, err := os.MkdirTemp("", "warp-example-")
	if err != nil {
		panic(err)
	}
	srv, err := natsbus.StartEmbedded(natsbus.EmbeddedOptions{JetStream: true, StoreDir: dir})
	if err != nil {
		panic(err)
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		panic(err)
	}
	if js, err = jetstream.New(nc); err != nil {
		panic(err)
	}
	return js, func() {
		nc.Close()
		srv.Shutdown()
		_ = os.RemoveAll(dir)
	}
}
