package natslock_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/internal/natstest"
)

// node is one simulated node: its own connection, JetStream and Locker.
type node struct {
	nc *nats.Conn
	js jetstream.JetStream
	l  *natslock.Locker
}

// newNode connects to srv and opens a Locker on bucket; the cleanup closes
// both (closing twice is fine).
func newNode(tb testing.TB, srv *natsbus.Server, cfg natslock.Config) *node {
	tb.Helper()
	nc, js := natstest.Connect(tb, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := natslock.New(ctx, js, cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	return &node{nc: nc, js: js, l: l}
}

// bounded returns a context that ends after d, cancelled with the test.
func bounded(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// twoHolders returns nodes "a" and "b" on one new server, and a context
// bounded to 20 s.
func twoHolders(t *testing.T) (a, b *node, ctx context.Context) {
	t.Helper()
	srv := natstest.StartJetStream(t, nil)
	a = newNode(t, srv, natslock.Config{Owner: "a"})
	b = newNode(t, srv, natslock.Config{Owner: "b"})
	return a, b, bounded(t, 20*time.Second)
}
