package kafkabus_test

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/kafkabus"
)

// Two nodes of cluster "shop" on an in-process fake broker: a broadcast
// from one reaches the other.
func Example() {
	broker, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		panic(err)
	}
	defer broker.Close()

	got := make(chan string, 1)
	open := func(node string, h bus.Handler) *kafkabus.Transport {
		tr, err := kafkabus.New(kafkabus.Options{Seeds: broker.ListenAddrs()})
		if err != nil {
			panic(err)
		}
		if err := tr.Open("shop", node, h); err != nil {
			panic(err)
		}
		return tr
	}
	a := open("a", bus.HandlerFuncs{})
	defer a.Close()
	b := open("b", bus.HandlerFuncs{Message: func(m []byte) { got <- string(m) }})
	defer b.Close()

	if err := a.Broadcast([]byte("invalidate user:42")); err != nil {
		panic(err)
	}
	fmt.Println(<-got)
	// Output: invalidate user:42
}
