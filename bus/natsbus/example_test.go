package natsbus_test

import (
	"fmt"

	"github.com/warpcache/warp/bus/natsbus"
)

// A node in the same process as its NATS server reaches it through an
// in-memory pipe instead of 127.0.0.1.
func ExampleOptions_inProcess() {
	srv, err := natsbus.StartEmbedded(natsbus.EmbeddedOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	tr, err := natsbus.Dial(srv.URL(), natsbus.Options{InProcess: srv})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close()
	fmt.Println(tr.Conn().ConnectedAddr())
	// Output: pipe
}
