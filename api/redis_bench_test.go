package api

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
)

// BenchmarkRedisSet compares, in one process and one run, a write of a
// 64-byte value through Warp (EventualDistributed on the Redis store, on a
// bus: the write's Lua script, its membership guard, the local install and
// the publish) with what a user of Redis client-side caching would pay, a
// rueidis SET, one caller each: p50 and p99 of each write.
func BenchmarkRedisSet(b *testing.B) {
	ctx := context.Background()
	addr := os.Getenv("WARP_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	val := make([]byte, 64)
	report := func(b *testing.B, d []time.Duration) {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99-ns")
	}
	b.Run("rueidis", func(b *testing.B) {
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableRetry: true})
		if err != nil {
			b.Skipf("Redis at %s: %v (start it: bash .ci/services)", addr, err)
		}
		defer c.Close()
		prefix := fmt.Sprintf("warp_bench_rueidis_%d:", time.Now().UnixNano())
		defer func() {
			for i := range 256 {
				_ = c.Do(ctx, c.B().Del().Key(fmt.Sprintf("%s%d", prefix, i)).Build()).Error()
			}
		}()
		d := make([]time.Duration, 0, b.N)
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			if err := c.Do(ctx, c.B().Set().Key(fmt.Sprintf("%s%d", prefix, i&255)).Value(string(val)).Build()).Error(); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		report(b, d)
	})
	b.Run("warp-eventual", func(b *testing.B) {
		w := newWarp(b, openRedis(b), WithBus[[]byte](bus.Config{Cluster: "redis-bench", Transport: inproc.NewHub().Transport()}))
		if err := w.Register("k:*", ModeEventualDistributed, time.Hour); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !w.Bus().LeaseValid() && time.Now().Before(deadline) {
			<-time.After(time.Millisecond)
		}
		d := make([]time.Duration, 0, b.N)
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			if err := w.Set(ctx, fmt.Sprintf("k:%d", i&255), val); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		report(b, d)
	})
}
