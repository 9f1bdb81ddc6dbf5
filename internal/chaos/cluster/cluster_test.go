package cluster

import (
	"strings"
	"testing"
	"time"

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
