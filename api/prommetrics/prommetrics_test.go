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
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
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

// TestEveryFamilyCarriesNodeAndCache: every family an instance exports,
// pushed or read at scrape time, carries the const labels node (the node
// id) and cache (Config.Cache, "default" when unset); every family the
// docs list for an instance without a bus is there.
func TestEveryFamilyCarriesNodeAndCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	a := newInstance(t, reg, "a")
	b, err := api.New[string](memory.New[string](memory.Options{}),
		api.WithNodeConfig[string](actors.Config{ID: "a"}),
		api.WithRecorder[string](prommetrics.New(reg, prommetrics.Config{Cache: "second"})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	_ = b.Register("k:*", api.ModeStrongLocal, time.Minute)
	for _, w := range []*api.Warp[string]{a, b} {
		_ = w.Set(ctx, "k:1", "v")
		_, _ = w.Get(ctx, "k:1")
		_, _ = w.Get(ctx, "k:missing")
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]bool{} // family → cache label values
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			node, hasNode := labels["node"]
			cache, hasCache := labels["cache"]
			if !hasNode || node != "a" || !hasCache {
				t.Errorf("%s%v: want the labels node=\"a\" and cache", f.GetName(), labels)
				continue
			}
			if seen[f.GetName()] == nil {
				seen[f.GetName()] = map[string]bool{}
			}
			seen[f.GetName()][cache] = true
		}
	}
	documented := []string{
		"warp_l1_reads_total", "warp_ops_total", "warp_op_duration_seconds",
		"warp_l1_entries", "warp_l1_bytes", "warp_l1_installs_total", "warp_l1_fills_total",
		"warp_l1_stale_fills_total", "warp_l1_invalidations_total", "warp_l1_expired_total",
		"warp_l1_evictions_total", "warp_shard_restarts_total", "warp_coherence_lease_valid",
		"warp_leases_granted_total", "warp_leases_revoked_total", "warp_lease_keys_dropped_total",
		"warp_locks_acquired_total", "warp_locks_contended_total",
		"warp_validator_checked_total", "warp_validator_drift_stale_total",
		"warp_validator_drift_ahead_total", "warp_validator_healed_total",
		// bus families that an instance without a bus exports too
		"warp_bus_peers", "warp_bus_apply_lag_seconds",
	}
	for _, name := range documented {
		if c := seen[name]; !c["default"] || !c["second"] {
			t.Errorf("%s: exported with cache labels %v; want both \"default\" (Config.Cache unset) and \"second\"", name, c)
		}
	}
	for _, name := range []string{"warp_bus_published_total", "warp_bus_applied_total", "warp_bus_lag_envelopes"} {
		if seen[name] != nil {
			t.Errorf("%s: exported by instances without a bus; want it only with one", name)
		}
	}
}

// TestDetach: an instance's collectors leave the registry when it closes,
// and when New fails after attaching them (here the bus refuses its
// config); New closes the bus's transport then too. So a service that
// retries New, or replaces an instance, on one registry and node id gets
// no duplicate registration, and the registry holds no closed instance.
func TestDetach(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr := inproc.NewHub().Transport()
	_, err := api.New[string](memory.New[string](memory.Options{}),
		api.WithNodeConfig[string](actors.Config{ID: "n1"}),
		prommetrics.WithMetrics[string](reg),
		api.WithBus[string](bus.Config{Cluster: "c", Transport: tr, HeartbeatInterval: time.Second, LeaseDuration: time.Millisecond}))
	if !errors.Is(err, api.ErrConfig) {
		t.Fatalf("New with a bus config the bus refuses = %v; want ErrConfig", err)
	}
	if fams, _ := reg.Gather(); len(fams) != 0 {
		t.Fatalf("%d metric families registered after New failed; want none", len(fams))
	}
	if err := tr.Broadcast([]byte("x")); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Broadcast on the transport of a New that failed = %v; want bus.ErrClosed (New closes it)", err)
	}
	w := newInstance(t, reg, "n1") // would fail: duplicate registration
	if _, err := w.Get(context.Background(), "k:1"); !errors.Is(err, api.ErrNotFound) {
		t.Fatal(err)
	}
	if fams, _ := reg.Gather(); len(fams) == 0 {
		t.Fatal("no metric families registered by a working instance")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if fams, _ := reg.Gather(); len(fams) != 0 {
		t.Fatalf("%d metric families registered after Close; want none", len(fams))
	}
	newInstance(t, reg, "n1") // the replacement registers the same names
}
