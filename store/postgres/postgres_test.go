package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warpcache/warp/internal/pgtest"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
	"github.com/warpcache/warp/store/postgres"
	"github.com/warpcache/warp/store/storetest"
)

func TestContract(t *testing.T) {
	pool := testPool(t)
	for _, history := range []int{0, 3} {
		t.Run(fmt.Sprintf("History=%d", history), func(t *testing.T) {
			t.Parallel()
			cfg := postgres.Config{History: history, MaxValueSize: 1 << 20}
			storetest.Run(t, storetest.Harness{
				New:          func(t *testing.T) store.Store[[]byte] { return newStore(t, pool, cfg) },
				MaxKeyLen:    postgres.DefaultMaxKeyLen,
				MaxValueSize: cfg.MaxValueSize,
				History:      history,
				Rounds:       10,
				Prefix:       "postgres:",
			})
		})
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  postgres.Config
	}{
		{"BadTable", postgres.Config{Table: "bad-name"}},
		{"QuotedTable", postgres.Config{Table: `x"; DROP TABLE y; --`}},
		{"ThreeParts", postgres.Config{Table: "a.b.c"}},
		{"LongTable", postgres.Config{Table: strings.Repeat("t", 49)}},
		{"NegativeHistory", postgres.Config{History: -1}},
		{"HugeKeys", postgres.Config{MaxKeyLen: postgres.MaxKeyLenLimit + 1}},
		{"HugeValues", postgres.Config{MaxValueSize: postgres.MaxValueSizeLimit + 1}},
		{"NegativeCommitTimeout", postgres.Config{CommitTimeout: -time.Second}},
		{"NilPool", postgres.Config{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := postgres.New[[]byte](t.Context(), nil, nil, tc.cfg)
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("New(%+v) = %v; want ErrInvalid", tc.cfg, err)
			}
		})
	}
}

func TestSchemaQualifiedTable(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	s, err := postgres.New[string](t.Context(), pool, nil, postgres.Config{Table: "public.warp_test_qualified", History: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := postgres.DropSchema(context.Background(), pool, "public.warp_test_qualified"); err != nil {
			t.Error(err)
		}
	})
	v1, err := s.Set(t.Context(), "k", "one", store.Write{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(t.Context(), "k", "two", store.Write{}); err != nil {
		t.Fatal(err)
	}
	it, err := s.GetAt(t.Context(), "k", v1)
	if err != nil || it.Value != "one" || it.Version != v1 {
		t.Fatalf("GetAt(%d) = %+v, %v; want one@%d", v1, it, err, v1)
	}
}

// TestDropSchema: after New and DropSchema, no table, index or function
// named after the table is left.
func TestDropSchema(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	_, table := newTable(t, pool, postgres.Config{History: 2})
	objects := func() (n int) {
		t.Helper()
		err := pool.QueryRow(t.Context(), `SELECT
    (SELECT count(*) FROM pg_class WHERE starts_with(relname, $1)) +
    (SELECT count(*) FROM pg_proc WHERE starts_with(proname, $1))`, table).Scan(&n)
		must(t, err)
		return n
	}
	if n := objects(); n == 0 {
		t.Fatalf("after New, no object is named after %s", table)
	}
	must(t, postgres.DropSchema(t.Context(), pool, table))
	if n := objects(); n != 0 {
		t.Fatalf("after DropSchema, %d objects are named after %s; want none", n, table)
	}
	must(t, postgres.DropSchema(t.Context(), pool, table)) // nothing to drop
	if err := postgres.DropSchema(t.Context(), pool, `x"; DROP TABLE y; --`); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("DropSchema of a bad name = %v; want ErrInvalid", err)
	}
}

// TestNewRacesDropSchema runs New and DropSchema on one table side by
// side, a bounded number of rounds: PostgreSQL's DDL is not safe against
// itself (CREATE OR REPLACE FUNCTION racing DROP FUNCTION fails with
// "tuple concurrently deleted"), so each must wait for the other.
func TestNewRacesDropSchema(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	_, table := newTable(t, pool, postgres.Config{History: 2})
	const rounds = 40
	errs := make(chan error, 2*rounds)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range rounds {
			_, err := postgres.New[[]byte](t.Context(), pool, nil, postgres.Config{Table: table, History: 2})
			errs <- err
		}
	}()
	go func() {
		defer wg.Done()
		for range rounds {
			errs <- postgres.DropSchema(t.Context(), pool, table)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("New or DropSchema racing the other: %v", err)
		}
	}
}

// TestServerGoesAway blocks a call on a row lock held by another
// transaction, then kills the call's backend or cancels its context, and
// checks that the call fails clearly and wrote nothing.
func TestServerGoesAway(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	calls := []struct {
		name string
		run  func(ctx context.Context, s *postgres.Store[[]byte]) error
	}{
		{"Set", func(ctx context.Context, s *postgres.Store[[]byte]) error {
			_, err := s.Set(ctx, "b", []byte("new"), store.Write{})
			return err
		}},
		{"Commit", func(ctx context.Context, s *postgres.Store[[]byte]) error {
			_, err := s.Commit(ctx, []store.Op[[]byte]{
				{Kind: store.OpSet, Key: "a", Value: []byte("new")},
				{Kind: store.OpSet, Key: "a0", Value: []byte("new")},
				{Kind: store.OpSet, Key: "b", Value: []byte("new")},
				{Kind: store.OpDelete, Key: "c"},
			})
			return err
		}},
	}
	for _, kill := range []string{"Terminate", "Cancel"} {
		for _, c := range calls {
			t.Run(kill+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				s, table := newTable(t, pool, postgres.Config{History: 2})
				for _, k := range []string{"a", "b", "c"} {
					if _, err := s.Set(t.Context(), k, []byte("old"), store.Write{}); err != nil {
						t.Fatal(err)
					}
				}
				locker, unlock := lockRow(t, pool, table, "b")
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- c.run(ctx, s) }()
				pid := pgtest.BlockedBy(t, pool, locker, waitLimit)
				if kill == "Cancel" {
					cancel()
				} else if _, err := pool.Exec(t.Context(), "SELECT pg_terminate_backend($1)", pid); err != nil {
					t.Fatal(err)
				}
				err := <-done
				unlock()
				gone(t, pool, pid)
				if err == nil || !strings.HasPrefix(err.Error(), "postgres: ") ||
					errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrFenced) {
					t.Fatalf("%s after %s = %v; want a postgres: error about the connection", c.name, kill, err)
				}
				if kill == "Cancel" && !errors.Is(err, context.Canceled) {
					t.Fatalf("%s after cancel = %v; want it to wrap context.Canceled", c.name, err)
				}
				t.Logf("%s: %v", kill, err)
				want := map[string]uint64{"a": 1, "a0": 0, "b": 1, "c": 1}
				if v, _ := s.Version(t.Context(), "b"); kill == "Cancel" && c.name == "Set" && v == 2 {
					// The server ran the statement after the client hung up:
					// the outcome of a cancelled write is unknown, but whole.
					want["b"] = 2
					if it, err := s.Get(t.Context(), "b"); err != nil || string(it.Value) != "new" {
						t.Fatalf("Get(b) = %q, %v; want the whole write", it.Value, err)
					}
				}
				for k, want := range want {
					if v, err := s.Version(t.Context(), k); err != nil || uint64(v) != want {
						t.Errorf("Version(%q) = %d, %v; want %d", k, v, err, want)
					}
				}
				// The pool recovers.
				if _, err := s.Set(t.Context(), "b", []byte("later"), store.Write{}); err != nil {
					t.Fatalf("Set after %s: %v", kill, err)
				}
			})
		}
	}
}

// lockRow holds key's row lock in a transaction until the returned func,
// and returns the pid of its backend.
func lockRow(t *testing.T, pool *pgxpool.Pool, table, key string) (pid int32, unlock func()) {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), fmt.Sprintf("SELECT 1 FROM %s WHERE key = $1 FOR UPDATE", table), key); err != nil {
		t.Fatal(err)
	}
	return pid, func() { tx.Rollback(context.Background()) }
}

// gone waits until backend pid has exited, failing the test after
// waitLimit.
func gone(t *testing.T, pool *pgxpool.Pool, pid int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	for {
		var n int
		err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n)
		if ctx.Err() != nil {
			t.Fatalf("backend %d still there after %v", pid, waitLimit)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// waitLimit bounds how long pgtest.BlockedBy and gone wait.
const waitLimit = 10 * time.Second

func BenchmarkGet(b *testing.B) {
	bench(b, storetest.BenchGet)
}

func BenchmarkSet(b *testing.B) {
	bench(b, storetest.BenchSet)
}

// BenchmarkMembership: guarded against unguarded Set, serial and parallel
// (all writers under one member, so every guarded write locks the same
// member row), and Renew with 3 and 100 members.
func BenchmarkMembership(b *testing.B) {
	storetest.BenchMembership(b, newStore(b, testPool(b), postgres.Config{}))
}

// bench runs body on the memory store (the baseline) and on PostgreSQL.
func bench(b *testing.B, body func(*testing.B, store.Store[[]byte])) {
	b.Run("memory", func(b *testing.B) { body(b, memory.New[[]byte](memory.Options{})) })
	b.Run("postgres", func(b *testing.B) { body(b, newStore(b, testPool(b), postgres.Config{})) })
}

// TestHistoryAge: a time older than Config.HistoryAge is refused even when
// the version is still in the history table, unless the current version
// answers it.
func TestHistoryAge(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newStore(t, pool, postgres.Config{History: 10, HistoryAge: time.Minute, Now: func() time.Time { return now }})
	v1, err := s.Set(ctx, "k", []byte("v1"), store.Write{Min: merge.MakeVersion(now)})
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := s.Set(ctx, "k", []byte("v2"), store.Write{Min: merge.MakeVersion(now.Add(10 * time.Second))})
	if it, err := s.GetAt(ctx, "k", v1); err != nil || string(it.Value) != "v1" {
		t.Fatalf("GetAt(v1) within the age = %q, %v; want v1", it.Value, err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.GetAt(ctx, "k", v1); !errors.Is(err, store.ErrHistory) {
		t.Fatalf("GetAt(v1) past the age: err = %v; want ErrHistory", err)
	}
	if it, err := s.GetAt(ctx, "k", v2); err != nil || string(it.Value) != "v2" {
		t.Fatalf("GetAt(current version) past the age = %q, %v; want v2", it.Value, err)
	}
	if _, err := s.GetAt(ctx, "never", v1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAt of a key never written: err = %v; want ErrNotFound", err)
	}
}
