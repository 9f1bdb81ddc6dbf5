package prommetrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/api/prommetrics"
	"github.com/warpcache/warp/store/memory"
)

func newInstance(t *testing.T, reg prometheus.Registerer, id string) *api.Warp[string] {
	t.Helper()
	w, err := api.New[string](memory.New[string](memory.Options{}),
		api.WithNodeConfig[string](actors.Config{ID: id}),
		prommetrics.WithMetrics[string](reg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	if err := w.Register("k:*", api.ModeStrongLocal, time.Minute); err != nil {
		t.Fatal(err)
	}
	return w
}

// value returns the value of the metric family name with the given labels.
func value(t *testing.T, fams []*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

func TestScrape(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	a := newInstance(t, reg, "a")
	b := newInstance(t, reg, "b") // two instances, one registry: labels, not collisions
	_ = a.Set(ctx, "k:1", "v")
	for range 3 {
		_, _ = a.Get(ctx, "k:1")
	}
	_, _ = a.Get(ctx, "k:missing")
	_ = a.Set(ctx, "other", "v")
	_, _ = b.Get(ctx, "k:1")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	na := map[string]string{"node": "a"}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"warp_ops_total", map[string]string{"node": "a", "op": "set", "mode": "strong-local", "result": "ok"}, 1},
		{"warp_ops_total", map[string]string{"node": "a", "op": "get", "result": "not_found"}, 1},
		{"warp_ops_total", map[string]string{"node": "a", "op": "set", "result": "unregistered"}, 1},
		{"warp_l1_reads_total", map[string]string{"node": "a", "result": "hit"}, 3},
		{"warp_l1_reads_total", map[string]string{"node": "a", "result": "miss"}, 1},
		{"warp_l1_reads_total", map[string]string{"node": "b", "result": "miss"}, 1},
		{"warp_op_duration_seconds", map[string]string{"node": "a", "op": "set", "mode": "strong-local"}, 1},
		{"warp_l1_installs_total", na, 1},
		{"warp_coherence_lease_valid", na, 1},
		{"warp_validator_checked_total", na, 0},
		{"warp_locks_acquired_total", na, 0},
		{"warp_leases_granted_total", na, 0},
	}
	for _, c := range checks {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v; want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := value(t, fams, "warp_l1_entries", na); got < 1 {
		t.Errorf("warp_l1_entries = %v; want ≥ 1", got)
	}
}

func TestSameNodeTwiceCollides(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	newInstance(t, reg, "same")
	_, err := api.New[string](memory.New[string](memory.Options{}),
		api.WithNodeConfig[string](actors.Config{ID: "same"}),
		prommetrics.WithMetrics[string](reg))
	if !errors.Is(err, api.ErrConfig) {
		t.Fatalf("second instance with the same node id and no cache name: err = %v; want ErrConfig", err)
	}
	w, err := api.New[string](memory.New[string](memory.Options{}),
		api.WithNodeConfig[string](actors.Config{ID: "same"}),
		api.WithRecorder[string](prommetrics.New(reg, prommetrics.Config{Cache: "second"})))
	if err != nil {
		t.Fatalf("with a cache name: %v", err)
	}
	_ = w.Close()
}
