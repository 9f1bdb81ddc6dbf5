// Package pgtest holds the PostgreSQL helpers of the tests.
package pgtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BlockedBy returns the pid of a server process, other than those in
// except, that waits for a lock the backend locker holds, polling
// pg_stat_activity every 20 ms until one does. After limit it fails the
// test, so that a call that should wait but does not fails it instead of
// hanging it.
func BlockedBy(tb testing.TB, pool *pgxpool.Pool, locker int32, limit time.Duration, except ...int32) int32 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), limit)
	defer cancel()
	except = append([]int32{}, except...) // an array, never NULL
	for {
		var pid int32
		err := pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid)) AND NOT pid = ANY($2::int[]) LIMIT 1`, locker, except).Scan(&pid)
		if err == nil {
			return pid
		}
		if ctx.Err() != nil {
			tb.Fatalf("no backend waited for backend %d within %v", locker, limit)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			tb.Fatal(err)
		}
		select { // a pause between polls of the server, bounded by ctx
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}
