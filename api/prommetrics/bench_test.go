package prommetrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/api/prommetrics"
	"github.com/warpcache/warp/store/memory"
)

// BenchmarkGetHit measures what metrics cost a cache hit: the same hits
// without a recorder and with the Prometheus one, in one run.
func BenchmarkGetHit(b *testing.B) {
	ctx := context.Background()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("k:%d", i)
	}
	for _, metrics := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", metrics), func(b *testing.B) {
			var opts []api.Option[string]
			if metrics {
				opts = append(opts, prommetrics.WithMetrics[string](prometheus.NewRegistry()))
			}
			w, err := api.New[string](memory.New[string](memory.Options{}), opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			_ = w.Register("k:*", api.ModeStrongLocal, time.Hour)
			for _, k := range keys {
				_ = w.Set(ctx, k, "value")
				_, _ = w.Get(ctx, k)
				_, _ = w.Get(ctx, k)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					_, _ = w.Get(ctx, keys[i&1023])
					i++
				}
			})
		})
	}
}
