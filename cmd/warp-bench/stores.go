package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/api/codec"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
	"github.com/warpcache/warp/store/nop"
	"github.com/warpcache/warp/store/postgres"
	"github.com/warpcache/warp/store/redis"
)

// openStore opens the primary store the nodes share. name makes its table
// or key prefix unique to the run (or, across processes, to the cluster);
// cleanup drops what the run wrote and closes the connections.
func openStore(cfg config, name string) (s store.Store[[]byte], cleanup func(drop bool), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch cfg.Store {
	case "postgres":
		return openPostgres(ctx, cfg.PostgresDSN, "warpbench_"+ident(name))
	case "redis":
		return openRedis(ctx, cfg.RedisAddr, "warpbench:"+name+":")
	case "none":
		return &nop.Store[[]byte]{}, func(bool) {}, nil
	}
	return memory.New[[]byte](memory.Options{}), func(bool) {}, nil
}

func openPostgres(ctx context.Context, dsn, table string) (store.Store[[]byte], func(bool), error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("-store postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("-store postgres: %s unreachable: %w", dsn, err)
	}
	s, err := postgres.New[[]byte](ctx, pool, codec.Bytes{}, postgres.Config{Table: table})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("-store postgres: %w", err)
	}
	return s, func(drop bool) {
		if drop {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = pool.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %[1]s, %[1]s_history; DROP FUNCTION IF EXISTS %[1]s_history_keep()`, table))
		}
		pool.Close()
	}, nil
}

func openRedis(ctx context.Context, addr, prefix string) (store.Store[[]byte], func(bool), error) {
	c := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 64})
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("-store redis: %s unreachable: %w", addr, err)
	}
	s, err := redis.New[[]byte](c, codec.Bytes{}, redis.Config{Prefix: prefix})
	if err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("-store redis: %w", err)
	}
	return s, func(drop bool) {
		if drop {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for it.Next(ctx) {
				c.Del(ctx, it.Val())
			}
		}
		_ = c.Close()
	}, nil
}

// ident turns s into an SQL identifier part.
func ident(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// runID is a random name for this run's table or prefix.
func runID() string { return strings.ToLower(rand.Text()[:10]) }

// preload writes every key (and the probe key, at sequence 0) straight to
// the store, with a few writers, bounded by a deadline.
func preload(s store.Store[[]byte], keys []string, probeKey string, size int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	val := make([]byte, size) // never modified: every key may share it
	if _, err := s.Set(ctx, probeKey, make([]byte, size), store.Write{}); err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(keys)); i = next.Add(1) - 1 {
				if _, err := s.Set(ctx, keys[i], val, store.Write{}); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("preload: %w", first)
	}
	return nil
}
