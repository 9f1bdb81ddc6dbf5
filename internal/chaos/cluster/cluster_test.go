package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warpcache/warp/internal/chaos/node"
	"github.com/warpcache/warp/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestNATSClusterRestartsOnItsPorts(t *testing.T) {
	t.Parallel()
	ss, err := startNATS(3)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, s := range ss {
			s.stop()
		}
	}()
	addr := ss[0].addr()
	ss[0].stop()
	if got := ss[0].remotes(); got != 0 {
		t.Fatalf("a stopped server has %d remotes; want 0", got)
	}
	if err := ss[0].start(); err != nil {
		t.Fatal(err)
	}
	if got := ss[0].addr(); got != addr {
		t.Fatalf("restarted on %s; want %s", got, addr)
	}
	if err := waitRoutes(ss, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestReadyWriter(t *testing.T) {
	t.Parallel()
	var log strings.Builder
	r := &readyWriter{log: &log, addr: make(chan string, 1)}
	for _, chunk := range []string{"starting\n" + node.ReadyPrefix[:5], node.ReadyPrefix[5:] + "127.0.0.1:9", "\nlater\n", node.ReadyPrefix + "again\n"} {
		if _, err := r.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-r.addr; got != "127.0.0.1:9" {
		t.Fatalf("address %q; want 127.0.0.1:9", got)
	}
	if len(r.addr) != 0 {
		t.Fatal("a second ready line was handed over")
	}
	if !strings.HasPrefix(log.String(), "starting\n") || !strings.HasSuffix(log.String(), "again\n") {
		t.Fatalf("log %q; want everything written", log.String())
	}
}

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	resolves := func(addrs ...string) func(context.Context, string) ([]string, error) {
		return func(_ context.Context, host string) ([]string, error) {
			if host != "localhost" {
				t.Errorf("resolved %q; want only localhost resolved", host)
			}
			return addrs, nil
		}
	}
	loopback := resolves("127.0.0.1", "::1")
	for _, tc := range []struct {
		dsn    string
		lookup func(context.Context, string) ([]string, error)
		ok     bool
	}{
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", loopback, true},
		{"postgres://postgres@127.0.0.1:5432/test", loopback, true}, // sslmode prefer: two fallbacks per host
		{"postgres://postgres@[::1]:5432/test", loopback, true},
		{"postgres://postgres@127.0.0.2,127.0.0.1:5432/test", loopback, true},
		{"postgres://postgres@localhost:5432/test", loopback, true},
		{"postgres://postgres@127.0.0.1,10.9.9.9:5432/test", loopback, false},
		{"host=127.0.0.1,10.9.9.9 port=5432 dbname=test", loopback, false},
		{"postgres://postgres@10.9.9.9:5432/test", loopback, false},
		{"postgres://postgres@localhost:5432/test", resolves("127.0.0.1", "10.0.0.1"), false},
		{"postgres://postgres@localhost:5432/test", resolves(), false},
		{"postgres://postgres@db.example.com:5432/test", loopback, false},
		{"postgres://postgres@127.0.0.1,localhost,db.example.com/test", loopback, false},
		{"host=/var/run/postgresql dbname=test", loopback, false},
	} {
		cfg, err := pgconn.ParseConfig(tc.dsn)
		if err != nil {
			t.Fatalf("%s: %v", tc.dsn, err)
		}
		cfg.LookupFunc = tc.lookup
		if err := loopbackOnly(context.Background(), cfg); (err == nil) != tc.ok {
			t.Errorf("%s: got %v; want accepted %v", tc.dsn, err, tc.ok)
		}
	}
}
