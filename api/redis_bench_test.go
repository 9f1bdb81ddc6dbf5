package api

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/redis"
)

// BenchmarkRedisSet compares, in one process and one run, a write of a
// 64-byte value through Warp (EventualDistributed on the Redis store, on a
// bus: the write's Lua script, its membership guard, the local install and
// the publish) with what a user of Redis client-side caching would pay, a
// rueidis SET, one caller each: p50 and p99 of each write. Every
// sub-benchmark interleaves its writes with rueidis SETs, in turn first
// and second, so that the two meet the same load on a busy machine, and
// reports both and their ratios (×rueidis). The steps between rueidis and
// Warp attribute the difference: a go-redis SET (Warp's client), the
// store's guarded write alone (the script), and Warp's StrongLocal write on
// Redis (the script and the local install, no guard, no bus).
func BenchmarkRedisSet(b *testing.B) {
	ctx := context.Background()
	addr := os.Getenv("WARP_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	val := make([]byte, 64)
	key := func(i int) string { return fmt.Sprintf("k:%d", i&255) }
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableRetry: true})
	if err != nil {
		b.Skipf("Redis at %s: %v (start it: bash .ci/services)", addr, err)
	}
	defer rc.Close()
	prefix := fmt.Sprintf("warp_bench_rueidis_%d:", time.Now().UnixNano())
	defer func() {
		for i := range 256 {
			_ = rc.Do(ctx, rc.B().Del().Key(prefix+key(i)).Build()).Error()
		}
	}()
	rueidisSet := func(i int) error {
		return rc.Do(ctx, rc.B().Set().Key(prefix+key(i)).Value(string(val)).Build()).Error()
	}
	b.Run("go-redis", func(b *testing.B) {
		c := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true}) // as the store's client
		defer c.Close()
		prefix := fmt.Sprintf("warp_bench_goredis_%d:", time.Now().UnixNano())
		defer func() {
			for i := range 256 {
				c.Del(ctx, prefix+key(i))
			}
		}()
		latencies(b, rueidisSet, func(i int) error { return c.Set(ctx, prefix+key(i), val, 0).Err() })
	})
	b.Run("store-guarded", func(b *testing.B) {
		st := openRedis(b).(*redis.Store[[]byte])
		inc, err := st.Join(ctx, "redis-bench", "n1", 0)
		if err != nil {
			b.Fatal(err)
		}
		g := store.Guard{Cluster: "redis-bench", Node: "n1", Incarnation: inc}
		latencies(b, rueidisSet, func(i int) error {
			_, err := st.Set(ctx, key(i), val, store.Write{Min: 1, Guard: g})
			return err
		})
	})
	b.Run("warp-local", func(b *testing.B) {
		w := newWarp(b, openRedis(b))
		if err := w.Register("k:*", ModeStrongLocal, time.Hour); err != nil {
			b.Fatal(err)
		}
		latencies(b, rueidisSet, func(i int) error { return w.Set(ctx, key(i), val) })
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
		latencies(b, rueidisSet, func(i int) error { return w.Set(ctx, key(i), val) })
	})
}

// latencies runs base(i) and write(i) for each iteration, one caller, the
// one or the other first in turn, and reports the p50 and p99 of write's
// latency, of base's (base-p50-ns, base-p99-ns) and their ratios.
func latencies(b *testing.B, base, write func(i int) error) {
	b.ReportAllocs()
	var d [2][]time.Duration // b.N is 1 before a b.Loop: no size hint
	f := [2]func(int) error{base, write}
	for i := 0; b.Loop(); i++ {
		for j := range 2 {
			k := (i + j) & 1
			start := time.Now()
			if err := f[k](i); err != nil {
				b.Fatal(err)
			}
			d[k] = append(d[k], time.Since(start))
		}
	}
	var p [2][2]float64 // p50, p99 of base, write
	for k := range d {
		slices.Sort(d[k])
		p[k] = [2]float64{float64(d[k][len(d[k])/2]), float64(d[k][len(d[k])*99/100])}
	}
	b.ReportMetric(p[1][0], "p50-ns")
	b.ReportMetric(p[1][1], "p99-ns")
	b.ReportMetric(p[0][0], "base-p50-ns")
	b.ReportMetric(p[0][1], "base-p99-ns")
	b.ReportMetric(p[1][0]/p[0][0], "p50-x")
	b.ReportMetric(p[1][1]/p[0][1], "p99-x")
}
