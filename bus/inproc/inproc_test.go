package inproc_test

import (
	"testing"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/bus/inproc"
)

func TestContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) func() bus.Transport {
		hub := inproc.NewHub()
		return func() bus.Transport { return hub.Transport() }
	})
}
