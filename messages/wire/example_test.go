package wire_test

import (
	"fmt"

	"github.com/warpcache/warp/messages/wire"
)

func ExampleAppend() {
	msg, err := wire.Append(nil,
		wire.Envelope{Origin: "node-1", Epoch: 7, Seq: 1, Op: wire.OpInvalidate, Key: "user:1", Version: 42},
		wire.Envelope{Origin: "node-1", Epoch: 7, Seq: 2, Op: wire.OpInvalidatePrefix, Key: "session:"},
	)
	if err != nil {
		panic(err)
	}
	envs, err := wire.Decode(msg)
	if err != nil {
		panic(err)
	}
	for _, e := range envs {
		fmt.Println(e.Origin, e.Seq, e.Op, e.Key)
	}
	fmt.Println(len(msg), "bytes")
	// Output:
	// node-1 1 Invalidate user:1
	// node-1 2 InvalidatePrefix session:
	// 33 bytes
}
