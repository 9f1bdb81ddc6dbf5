package postgres_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warpcache/warp/store/postgres"
)

const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

const startHint = "start PostgreSQL on 127.0.0.1:5432 with a database test (bash .ci/services), or set WARP_POSTGRES_DSN"

// testPool connects to the local PostgreSQL: WARP_POSTGRES_DSN, else the
// default DSN as user postgres, then as root. Unreachable, it skips the
// test, or fails it when CI=true.
func testPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dsns := []string{cmp.Or(os.Getenv("WARP_POSTGRES_DSN"), defaultDSN)}
	if os.Getenv("WARP_POSTGRES_DSN") == "" {
		dsns = append(dsns, "postgres://root@127.0.0.1:5432/test?sslmode=disable")
	}
	var errs []error
	for _, dsn := range dsns {
		pool, err := connect(dsn)
		if err == nil {
			tb.Cleanup(pool.Close)
			return pool
		}
		errs = append(errs, err)
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("PostgreSQL unreachable: %v; %s", errs, startHint)
	}
	tb.Skipf("PostgreSQL unreachable (%v); %s", errs, startHint)
	return nil
}

func connect(dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if h := cfg.ConnConfig.Host; h != "127.0.0.1" && h != "localhost" {
		return nil, fmt.Errorf("tests only connect to 127.0.0.1, not %q", h)
	}
	cfg.MaxConns = 16
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// newStore returns a Store on a table of its own, dropped by t.Cleanup.
func newStore(tb testing.TB, pool *pgxpool.Pool, cfg postgres.Config) *postgres.Store[[]byte] {
	tb.Helper()
	s, _ := newTable(tb, pool, cfg)
	return s
}

// newTable is newStore that also returns the table's name.
func newTable(tb testing.TB, pool *pgxpool.Pool, cfg postgres.Config) (*postgres.Store[[]byte], string) {
	tb.Helper()
	cfg.Table = "warp_test_" + strings.ToLower(rand.Text()[:12])
	s, err := postgres.New[[]byte](tb.Context(), pool, nil, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := postgres.DropSchema(context.Background(), pool, cfg.Table); err != nil {
			tb.Error(err)
		}
	})
	return s, cfg.Table
}
