package wire_test

import (
	"errors"
	"fmt"

	"github.com/warpcache/warp/messages/wire"
)

func ExampleKeyring() {
	// In production: keys, err := wire.LoadKeys("WARP_CLUSTER_KEY").
	keys, err := wire.ParseKeys("1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if err != nil {
		panic(err)
	}
	kr, err := wire.NewKeyring("orders", keys...)
	if err != nil {
		panic(err)
	}
	msg, err := wire.Append(nil, wire.Envelope{Origin: "node-1", Epoch: 7, Seq: 1, Op: wire.OpInvalidate, Key: "user:1", Version: 42})
	if err != nil {
		panic(err)
	}
	sealed := kr.Seal(nil, msg)
	fmt.Println(len(msg), "bytes sealed into", len(sealed))

	opened, err := kr.Open(sealed)
	if err != nil {
		panic(err)
	}
	envs, err := wire.Decode(opened)
	if err != nil {
		panic(err)
	}
	fmt.Println(envs[0].Origin, envs[0].Op, envs[0].Key)

	sealed[5] ^= 1 // a forger's change
	_, err = kr.Open(sealed)
	fmt.Println(errors.Is(err, wire.ErrBadMAC), wire.RejectReason(err))
	fmt.Println(keys[0]) // never shows the secret
	// Output:
	// 21 bytes sealed into 39
	// node-1 Invalidate user:1
	// true bad_mac
	// wire.Key{ID: 1, Secret: 32 bytes redacted}
}
