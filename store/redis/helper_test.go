package redis_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"net"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/store/redis"
)

const startHint = "start Redis on 127.0.0.1:6379 (bash .ci/services), or set WARP_REDIS_ADDR"

// testClient connects to the local Redis at WARP_REDIS_ADDR (default
// 127.0.0.1:6379), changing opt's address; unreachable, it skips the test,
// or fails it when CI=true.
func testClient(tb testing.TB, opt *goredis.Options) *goredis.Client {
	tb.Helper()
	addr := cmp.Or(os.Getenv("WARP_REDIS_ADDR"), "127.0.0.1:6379")
	if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" && host != "localhost" {
		tb.Fatalf("WARP_REDIS_ADDR=%q: tests only connect to 127.0.0.1", addr)
	}
	if opt == nil {
		opt = &goredis.Options{}
	}
	opt.Addr = addr
	opt.ContextTimeoutEnabled = true // as a membership store needs (Store.Join)
	c := goredis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Redis unreachable at %s: %v; %s", addr, err, startHint)
		}
		tb.Skipf("Redis unreachable at %s (%v); %s", addr, err, startHint)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// newStore returns a Store under a key prefix of its own, whose keys
// t.Cleanup deletes.
func newStore(tb testing.TB, c *goredis.Client, cfg redis.Config) *redis.Store[[]byte] {
	tb.Helper()
	s, _ := newPrefix(tb, c, cfg)
	return s
}

// newPrefix is newStore that also returns the prefix.
func newPrefix(tb testing.TB, c *goredis.Client, cfg redis.Config) (*redis.Store[[]byte], string) {
	tb.Helper()
	cfg.Prefix = "warptest:" + rand.Text()[:12] + ":"
	s, err := redis.New[[]byte](c, nil, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, cfg.Prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("clean up %s: %v", cfg.Prefix, err)
		}
	})
	return s, cfg.Prefix
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
