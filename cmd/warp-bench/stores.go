package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
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

// cleanupTimeout bounds dropping what a run wrote.
const cleanupTimeout = 30 * time.Second

// benchStore is the primary store the nodes share, with what the run
// wrote into it.
type benchStore struct {
	// s is the adapter itself, handed to Warp as it is so that Warp sees
	// its capabilities (store.Committer, ...).
	s store.Store[[]byte]
	// where names the server (its password redacted) and the run's table
	// or key prefix, for the report and the progress lines.
	where string
	// drop removes everything the run wrote; close releases the
	// connections. Both are safe to call once each, drop first.
	drop  func(ctx context.Context) error
	close func()
}

// openStore opens the primary store. name makes its table or key prefix
// unique to the run (or, across processes, to the cluster).
func openStore(ctx context.Context, cfg config, name string) (*benchStore, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	switch cfg.Store {
	case "postgres":
		return openPostgres(ctx, cfg.PostgresDSN, postgresTable(name))
	case "redis":
		return openRedis(ctx, cfg.RedisAddr, redisPrefix(name))
	case "none":
		return &benchStore{s: &nop.Store[[]byte]{}, where: "none", drop: noDrop, close: func() {}}, nil
	}
	return &benchStore{s: memory.New[[]byte](memory.Options{}), where: "memory", drop: noDrop, close: func() {}}, nil
}

func noDrop(context.Context) error { return nil }

// postgresTable and redisPrefix name what a run writes; the tests look
// for leftovers by these patterns.
func postgresTable(name string) string { return "warpbench_" + ident(name) }
func redisPrefix(name string) string   { return "warpbench:" + name + ":" }

func openPostgres(ctx context.Context, dsn, table string) (*benchStore, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("-store postgres: %w", err)
	}
	where := fmt.Sprintf("postgres %s, table %s", redactURL(dsn), table)
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("-store postgres: %s unreachable: %w", redactURL(dsn), err)
	}
	s, err := postgres.New[[]byte](ctx, pool, codec.Bytes{}, postgres.Config{Table: table})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("-store postgres: %w", err)
	}
	drop := func(ctx context.Context) error {
		if err := postgres.DropSchema(ctx, pool, table); err != nil {
			return fmt.Errorf("drop table %s: %w", table, err)
		}
		return nil
	}
	return &benchStore{s: s, where: where, drop: drop, close: pool.Close}, nil
}

func openRedis(ctx context.Context, addr, prefix string) (*benchStore, error) {
	c := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 64, ContextTimeoutEnabled: true})
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("-store redis: %s unreachable: %w", addr, err)
	}
	s, err := redis.New[[]byte](c, codec.Bytes{}, redis.Config{Prefix: prefix})
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("-store redis: %w", err)
	}
	drop := func(ctx context.Context) error { return unlinkPrefix(ctx, c, prefix) }
	return &benchStore{s: s, where: fmt.Sprintf("redis %s, prefix %s", addr, prefix), drop: drop, close: func() { _ = c.Close() }}, nil
}

// unlinkPrefix deletes every key under prefix: SCAN pages of 1,000 keys,
// each UNLINKed in one command (Redis frees the values in the
// background), so 200,000 keys take a few hundred round trips.
func unlinkPrefix(ctx context.Context, c goredis.UniversalClient, prefix string) error {
	pattern := escapeGlob(prefix) + "*"
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return fmt.Errorf("scan %s: %w", pattern, err)
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("unlink %s: %w", pattern, err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// escapeGlob escapes the glob characters of a Redis MATCH pattern.
func escapeGlob(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
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

// dropAll runs drop with its own deadline (the run's context may be
// cancelled already: that is when it matters most).
func (s *benchStore) dropAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	return s.drop(ctx)
}

// errInterrupted is what a run stopped by SIGINT or SIGTERM returns.
var errInterrupted = errors.New("interrupted")
