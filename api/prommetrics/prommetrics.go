// Package prommetrics exports a Warp instance's measurements to Prometheus.
// It is the only Warp package that imports the Prometheus client: the core
// records into [api.Recorder].
//
//	w, err := api.New[T](st, prommetrics.WithMetrics[T](prometheus.DefaultRegisterer))
//
// Every family carries the const labels node (the node id) and cache
// (Config.Cache, default "default"), so several instances share one
// registry. docs/metrics.md
// lists the families.
package prommetrics

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/internal/stripes"
)

// Config configures a [Recorder].
type Config struct {
	// Cache names the instance in the const label cache (default
	// "default"); needed only when two instances share a node and a
	// registry.
	Cache string
	// Buckets are the latency histogram buckets, in seconds. Default:
	// exponential from 1µs to about 4s.
	Buckets []float64
}

// WithMetrics exports the instance's metrics to reg.
func WithMetrics[T any](reg prometheus.Registerer) api.Option[T] {
	return api.WithRecorder[T](New(reg, Config{}))
}

// Recorder implements [api.Recorder] on Prometheus collectors. Build it
// with [New]; the collectors are registered when the instance attaches.
type Recorder struct {
	reg  prometheus.Registerer
	cfg  Config
	once sync.Once

	ops     *prometheus.CounterVec
	latency *prometheus.HistogramVec
	lag     prometheus.Histogram
	// reads are counted in striped cells, summed at scrape time: one
	// shared counter would make every cache hit contend for its line.
	hits, misses stripes.Counter

	mu         sync.Mutex
	registered []prometheus.Collector // what Detach unregisters
}

// New returns a Recorder that registers on reg.
func New(reg prometheus.Registerer, cfg Config) *Recorder {
	if cfg.Buckets == nil {
		cfg.Buckets = prometheus.ExponentialBuckets(1e-6, 4, 12)
	}
	return &Recorder{reg: reg, cfg: cfg}
}

// Attach implements [api.Recorder]: it builds and registers the
// collectors, labelled for src's node.
func (r *Recorder) Attach(src api.Source) error {
	err := fmt.Errorf("prommetrics: a Recorder attaches to one instance")
	r.once.Do(func() { err = r.attach(src) })
	return err
}

func (r *Recorder) attach(src api.Source) error {
	cache := r.cfg.Cache
	if cache == "" {
		cache = "default"
	}
	labels := prometheus.Labels{"node": src.NodeID(), "cache": cache}
	r.ops = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "warp_ops_total", Help: "Operations that reached a shard or the store, by op, mode and result.",
		ConstLabels: labels,
	}, []string{"op", "mode", "result"})
	r.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "warp_op_duration_seconds", Help: "Latency of operations that reached a shard or the store.",
		ConstLabels: labels, Buckets: r.cfg.Buckets,
	}, []string{"op", "mode"})
	reads := func(result string, s *stripes.Counter) prometheus.Collector {
		l := prometheus.Labels{"result": result}
		for k, v := range labels {
			l[k] = v
		}
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "warp_l1_reads_total", Help: "Reads by L1 outcome: hit or miss.", ConstLabels: l,
		}, func() float64 { return float64(s.Sum()) })
	}
	r.lag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "warp_bus_apply_lag_seconds", Help: "Age of a remote write when its invalidation was applied here (HLC timestamps: ms resolution, includes clock skew).",
		ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(1e-3, 2, 14),
	})
	for _, c := range []prometheus.Collector{r.ops, r.latency, reads("hit", &r.hits), reads("miss", &r.misses), r.lag, newStateCollector(src, labels)} {
		if err := r.reg.Register(c); err != nil {
			r.Detach() // none of them stays registered
			return fmt.Errorf("prommetrics: %w", err)
		}
		r.mu.Lock()
		r.registered = append(r.registered, c)
		r.mu.Unlock()
	}
	return nil
}

// Detach implements [api.Detacher]: it unregisters the collectors, so that
// the registry lets go of the closed instance (its gauges read it at scrape
// time) and a new instance can register the same names and labels. The
// instance's Close calls it, and New when it fails after Attach.
func (r *Recorder) Detach() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.registered {
		r.reg.Unregister(c)
	}
	r.registered = nil
}

// Read implements [api.Recorder].
func (r *Recorder) Read(hit bool) {
	if hit {
		r.hits.Inc()
	} else {
		r.misses.Inc()
	}
}

// Op implements [api.Recorder].
func (r *Recorder) Op(op string, mode api.Mode, result string, d time.Duration) {
	r.ops.WithLabelValues(op, mode.String(), result).Inc()
	r.latency.WithLabelValues(op, mode.String()).Observe(d.Seconds())
}

// ApplyLag implements [api.Recorder].
func (r *Recorder) ApplyLag(d time.Duration) { r.lag.Observe(max(d, 0).Seconds()) }
