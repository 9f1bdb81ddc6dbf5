package api

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
	"github.com/warpcache/warp/store/postgres"
	"github.com/warpcache/warp/store/redis"
)

// BenchmarkStores runs, for each store in one process, an L1 hit, a Set
// (write-through) and a miss served from the store (the key invalidated
// before each Get). PostgreSQL and Redis on 127.0.0.1 are skipped when they
// do not answer (WARP_POSTGRES_DSN, WARP_REDIS_ADDR override the address).
// Run: go test -run '^$' -bench Stores -count 6 ./api/
func BenchmarkStores(b *testing.B) {
	ctx := context.Background()
	stores := []struct {
		name string
		open func(b *testing.B) store.Store[[]byte]
	}{
		{"memory", func(*testing.B) store.Store[[]byte] { return memory.New[[]byte](memory.Options{}) }},
		{"postgres", openPostgres},
		{"redis", openRedis},
	}
	val := make([]byte, 64)
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			w := newWarp(b, s.open(b))
			_ = w.Register("bench:*", ModeStrongLocal, time.Hour)
			keys := keysN("bench:", 256)
			for _, k := range keys {
				if err := w.Set(ctx, k, val); err != nil {
					b.Fatal(err)
				}
			}
			for range 2 { // cached and promoted to the hot tier
				for _, k := range keys {
					_, _ = w.Get(ctx, k)
				}
			}
			b.Run("hit", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					_, _ = w.Get(ctx, keys[i&255])
				}
			})
			b.Run("set", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if err := w.Set(ctx, keys[i&255], val); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("miss", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					k := keys[i&255]
					b.StopTimer()
					_ = w.Invalidate(ctx, k)
					b.StartTimer()
					if _, err := w.Get(ctx, k); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func openPostgres(b *testing.B) store.Store[[]byte] {
	dsn := os.Getenv("WARP_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		b.Skipf("PostgreSQL at %s: %v (start it: bash .ci/services)", dsn, err)
	}
	b.Cleanup(pool.Close)
	table := fmt.Sprintf("warp_bench_%d", time.Now().UnixNano())
	st, err := postgres.New[[]byte](ctx, pool, nil, postgres.Config{Table: table})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = postgres.DropSchema(context.Background(), pool, table)
	})
	return st
}

func openRedis(b *testing.B) store.Store[[]byte] {
	addr := os.Getenv("WARP_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		b.Skipf("Redis at %s: %v (start it: bash .ci/services)", addr, err)
	}
	b.Cleanup(func() { _ = c.Close() })
	prefix := fmt.Sprintf("warp_bench_%d:", time.Now().UnixNano())
	st, err := redis.New[[]byte](c, nil, redis.Config{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	return st
}
