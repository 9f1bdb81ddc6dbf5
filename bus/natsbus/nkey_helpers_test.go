package natsbus_test

import (
	"testing"

	"github.com/nats-io/nkeys"
)

// userNKey returns a new user nkey's public key and seed.
func userNKey(t *testing.T) (pub string, seed []byte) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ = kp.PublicKey()
	seed, _ = kp.Seed()
	return pub, seed
}
