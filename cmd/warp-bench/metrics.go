package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The load's own metrics, on the default registry (with the Go and process
// collectors) when -metrics-addr is set.
var (
	benchOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "warp_bench_ops_total", Help: "Operations the load workers completed.",
	}, []string{"mode"})
	benchStale = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "warp_bench_stale_reads_total", Help: "Probe reads that returned a value older than the newest returned write.",
	}, []string{"mode"})
	benchErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "warp_bench_errors_total", Help: "Failed operations.",
	}, []string{"mode"})
	benchWriteP99 = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "warp_bench_write_p99_seconds", Help: "Write latency p99 of the last finished second.",
	}, []string{"mode"})
	benchLagP99 = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "warp_bench_lag_p99_seconds", Help: "Invalidation lag p99 of the last finished mode.",
	}, []string{"mode"})
	registerOnce sync.Once
)

func observePoints(pts []point) {
	for _, p := range pts {
		if p.WriteP99us != nil {
			benchWriteP99.WithLabelValues(p.Phase).Set(*p.WriteP99us / 1e6)
		}
	}
}

// observePhase exports a finished mode's figures; one without samples is
// not exported (a gauge cannot say n/a).
func observePhase(r modeReport) {
	if r.StaleReads != nil {
		benchStale.WithLabelValues(r.Mode).Add(float64(*r.StaleReads))
	}
	benchErrors.WithLabelValues(r.Mode).Add(float64(r.Errors))
	if r.LagP99us != nil {
		benchLagP99.WithLabelValues(r.Mode).Set(*r.LagP99us / 1e6)
	}
}

// serveMetrics serves /metrics on addr (127.0.0.1 only, checked by
// validate) and prints the address; stop shuts the server down and waits.
func serveMetrics(addr string, stderr io.Writer) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	registerOnce.Do(func() {
		prometheus.MustRegister(benchOps, benchStale, benchErrors, benchWriteP99, benchLagP99)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(stderr, "warp-bench: metrics:", err)
		}
	}()
	fmt.Fprintf(stderr, "warp-bench: metrics on http://%s/metrics\n", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
