package main

import (
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/internal/leakcheck"
)

// envChild makes the test binary run warp-bench itself, with the JSON
// array of arguments it holds: the signal tests start it as a child.
const envChild = "WARP_BENCH_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if a := os.Getenv(envChild); a != "" {
		var args []string
		if err := json.Unmarshal([]byte(a), &args); err != nil {
			os.Exit(2)
		}
		os.Exit(mainCode(args, os.Stdout, os.Stderr))
	}
	// The first signal.Notify starts os/signal's loop, a goroutine that
	// lives as long as the process: start it before leakcheck counts.
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR2)
	signal.Stop(c)
	leakcheck.Main(m)
}

const (
	testDSN   = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	testRedis = "127.0.0.1:6379"
	startHint = "start it with bash .ci/services"
)

// needService skips the test when a service is missing, or fails it
// under CI=true.
func needService(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s unreachable: %v; %s", what, err, startHint)
	}
	tb.Skipf("%s unreachable (%v); %s", what, err, startHint)
}

// testRedisClient connects to the local Redis, or skips.
func testRedisClient(tb testing.TB) *goredis.Client {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: testRedis, ContextTimeoutEnabled: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		needService(tb, "Redis at "+testRedis, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// testPool connects to the local PostgreSQL, or skips.
func testPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, testDSN)
	if err == nil {
		err = pool.Ping(ctx)
		if err != nil {
			pool.Close()
		}
	}
	needService(tb, "PostgreSQL at 127.0.0.1:5432", err)
	tb.Cleanup(pool.Close)
	return pool
}

// redisKeys counts the keys matching pattern.
func redisKeys(tb testing.TB, c *goredis.Client, pattern string) int {
	tb.Helper()
	n := 0
	it := c.Scan(context.Background(), 0, pattern, 1000).Iterator()
	for it.Next(context.Background()) {
		n++
	}
	if err := it.Err(); err != nil {
		tb.Fatal(err)
	}
	return n
}

// pgTables counts the tables and functions whose name starts with prefix.
func pgTables(tb testing.TB, pool *pgxpool.Pool, prefix string) int {
	tb.Helper()
	var n int
	err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM pg_tables WHERE tablename LIKE $1 || '%')
	   + (SELECT count(*) FROM pg_proc WHERE proname LIKE $1 || '%')`, prefix).Scan(&n)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
