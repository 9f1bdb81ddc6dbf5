package kafkabus_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/warpcache/warp/bus/kafkabus"
	"github.com/warpcache/warp/internal/leakcheck"
)

// TestMain fails the run if goroutines outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// startCluster starts a one-broker kfake cluster on 127.0.0.1 and a
// random port, closed when the test ends.
func startCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake.NewCluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// newTransport returns a transport on c, closed when the test ends.
func newTransport(t testing.TB, c *kfake.Cluster, opts kafkabus.Options) *kafkabus.Transport {
	t.Helper()
	opts.Seeds = c.ListenAddrs()
	tr, err := kafkabus.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}
