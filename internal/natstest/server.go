package natstest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/chaos/proxy"
)

// Start starts an in-process nats-server ([natsbus.StartEmbedded]) on
// 127.0.0.1 and a free port, its options adjusted by configure (nil:
// natsbus's defaults), and shuts it down when the test ends.
func Start(tb testing.TB, configure func(*server.Options)) *natsbus.Server {
	tb.Helper()
	return start(tb, natsbus.EmbeddedOptions{Configure: configure})
}

// StartJetStream is [Start] with JetStream on, its store in a temporary
// directory.
func StartJetStream(tb testing.TB, configure func(*server.Options)) *natsbus.Server {
	tb.Helper()
	return start(tb, natsbus.EmbeddedOptions{JetStream: true, StoreDir: tb.TempDir(), Configure: configure})
}

func start(tb testing.TB, opts natsbus.EmbeddedOptions) *natsbus.Server {
	tb.Helper()
	srv, err := natsbus.StartEmbedded(opts)
	if err != nil {
		tb.Fatalf("StartEmbedded: %v", err)
	}
	tb.Cleanup(srv.Shutdown)
	return srv
}

// Conf returns a configure function for [Start] that applies conf, a
// nats-server configuration (users, accounts, permissions), over the
// embedded server's options: what conf sets wins, except logging,
// signals, JetStream and its store, which stay as natsbus sets them, and
// the maximum payload stays natsbus's unless conf sets one.
func Conf(tb testing.TB, conf string) func(*server.Options) {
	tb.Helper()
	path := WriteFile(tb, tb.TempDir(), "server.conf", []byte(conf))
	parsed, err := server.ProcessConfigFile(path)
	if err != nil {
		tb.Fatalf("nats-server configuration: %v", err)
	}
	return func(o *server.Options) {
		c := parsed.Clone()
		c.NoLog, c.NoSigs, c.JetStream, c.StoreDir = o.NoLog, o.NoSigs, o.JetStream, o.StoreDir
		if c.MaxPayload == 0 {
			c.MaxPayload = o.MaxPayload
		}
		*o = *c
	}
}

// WriteFile writes b to a new file named name in dir, readable by its
// owner only, and returns its path.
func WriteFile(tb testing.TB, dir, name string, b []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Connect opens a connection to srv that does not reconnect, and its
// JetStream; the connection is closed when the test ends.
func Connect(tb testing.TB, srv *natsbus.Server) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	return ConnectURL(tb, srv.URL(), nats.MaxReconnects(0))
}

// ConnectURL is Connect to url, with opts.
func ConnectURL(tb testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// Proxied starts a loopback fault proxy in front of srv (closed when the
// test ends) and connects a JetStream client through it that reconnects
// at once, for tests that cut a client off the server.
func Proxied(tb testing.TB, srv *natsbus.Server) (*proxy.Proxy, jetstream.JetStream) {
	tb.Helper()
	p, err := proxy.New(strings.TrimPrefix(srv.URL(), "nats://"))
	if err != nil {
		tb.Fatalf("proxy: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	_, js := ConnectURL(tb, p.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.Timeout(500*time.Millisecond))
	return p, js
}

// AwaitGone waits, bounded by ctx, until stream holds no message on
// subject: the server removed it (a marker whose TTL ran out).
func AwaitGone(tb testing.TB, ctx context.Context, js jetstream.JetStream, stream, subject string) {
	tb.Helper()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		tb.Fatalf("stream %s: %v", stream, err)
	}
	for {
		_, err := s.GetLastMsgForSubject(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return
		}
		if ctx.Err() != nil {
			tb.Fatalf("%s still holds %s: %v", stream, subject, err)
		}
		<-time.After(50 * time.Millisecond)
	}
}
