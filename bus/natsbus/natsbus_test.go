package natsbus_test

import (
	"testing"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/bus/natsbus"
)

func startServer(t *testing.T) *natsbus.Server {
	t.Helper()
	srv, err := natsbus.StartEmbedded(natsbus.EmbeddedOptions{})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

func TestContract(t *testing.T) {
	srv := startServer(t)
	bustest.Run(t, func(t *testing.T) func() bus.Transport {
		return func() bus.Transport {
			tr, err := natsbus.Dial(srv.URL(), natsbus.Options{})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			return tr
		}
	})
}
