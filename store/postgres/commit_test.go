package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/postgres"
)

// TestCommitDeadlineNeverHidesACommit: commits whose deadlines fall around
// the time a commit takes either commit and return their versions, or
// return an error and commit nothing, or (a deadline that ended while
// COMMIT was on its way) return ErrCommitUnknown and committed both keys
// or neither. The COMMIT used to be sent under the caller's context, so a
// deadline that ended after COMMIT reached the server, before its reply
// came, returned a plain error for a committed transaction (seen: 470 of
// 3000 such commits). The slowCOMMIT case makes COMMIT itself take 10 ms
// (a deferred trigger, standing in for a slow fsync or synchronous
// replication), so most deadlines end inside it.
func TestCommitDeadlineNeverHidesACommit(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	for _, tc := range []struct {
		name   string
		sleep  time.Duration // in COMMIT, per written row
		rounds int
	}{
		{"plain", 0, 300},
		{"slowCOMMIT", 5 * time.Millisecond, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, table := newTable(t, pool, postgres.Config{})
			if tc.sleep > 0 {
				slowCommit(t, pool, table, tc.sleep)
			}
			commit := func(ctx context.Context, key string) error {
				_, err := s.Commit(ctx, []store.Op[[]byte]{
					{Kind: store.OpSet, Key: key, Value: []byte("x")},
					{Kind: store.OpSet, Key: key + "/b", Value: []byte("y")},
				})
				return err
			}
			start := time.Now()
			for i := range 20 {
				if err := commit(t.Context(), fmt.Sprint("warm", i)); err != nil {
					t.Fatal(err)
				}
			}
			took := time.Since(start) / 20
			rng := rand.New(rand.NewPCG(1, 2))
			end := time.Now().Add(20 * time.Second) // bounds the loop on a slow host
			var failed, unknown []string
			late := 0 // deadlines that ended during a commit that succeeded
			for i := 0; i < tc.rounds && time.Now().Before(end); i++ {
				key := fmt.Sprint("k", i)
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(rng.Int64N(int64(2*took))))
				err := commit(ctx, key)
				if err == nil && ctx.Err() != nil {
					late++
				}
				cancel()
				switch {
				case err == nil:
					if _, gerr := s.Get(t.Context(), key); gerr != nil {
						t.Fatalf("Commit(%s) = nil, but Get = %v", key, gerr)
					}
				case !strings.HasPrefix(err.Error(), "postgres: "):
					t.Errorf("Commit(%s) = %v; want a postgres: error", key, err)
					failed = append(failed, key)
				case errors.Is(err, postgres.ErrCommitUnknown):
					unknown = append(unknown, key)
				default:
					failed = append(failed, key)
				}
			}
			quiesce(t, pool, table)
			for _, key := range unknown { // committed whole, or not at all
				_, errA := s.Get(t.Context(), key)
				_, errB := s.Get(t.Context(), key+"/b")
				if (errA == nil) != (errB == nil) {
					t.Errorf("Commit(%s) of unknown outcome: Get = %v, Get(/b) = %v; want both or neither", key, errA, errB)
				}
			}
			for _, key := range failed {
				for _, k := range []string{key, key + "/b"} {
					if it, err := s.Get(t.Context(), k); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("Commit(%s) failed, but Get(%s) = %q@%d, %v; want ErrNotFound", key, k, it.Value, it.Version, err)
					}
				}
			}
			t.Logf("commit took %v; %d commits failed; %d of unknown outcome; %d succeeded after their deadline", took, len(failed), len(unknown), late)
		})
	}
}

// TestCommitUnknownOutcome: a COMMIT that gets no reply within
// Config.CommitTimeout fails with ErrCommitUnknown, after CommitTimeout
// and not after the caller's context, and the pool recovers.
func TestCommitUnknownOutcome(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	const timeout = 200 * time.Millisecond
	s, table := newTable(t, pool, postgres.Config{CommitTimeout: timeout})
	slowCommit(t, pool, table, 2*time.Second)
	start := time.Now()
	_, err := s.Commit(t.Context(), []store.Op[[]byte]{{Kind: store.OpSet, Key: "a", Value: []byte("x")}})
	took := time.Since(start)
	if !errors.Is(err, postgres.ErrCommitUnknown) || !strings.HasPrefix(err.Error(), "postgres: commit: ") {
		t.Fatalf("Commit with a COMMIT slower than CommitTimeout = %v; want a postgres: commit: error wrapping ErrCommitUnknown", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Errorf("Commit returned after %v; want about CommitTimeout, %v", took, timeout)
	}
	quiesce(t, pool, table)
	if _, err := pool.Exec(t.Context(), fmt.Sprintf("DROP TRIGGER %s_slow ON %s", table, table)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(t.Context(), []store.Op[[]byte]{{Kind: store.OpSet, Key: "b", Value: []byte("y")}}); err != nil {
		t.Fatalf("Commit after an unknown outcome: %v", err)
	}
}

// TestCommitDeadlineEndsTheWait: the caller's deadline bounds the wait for
// COMMIT's reply when it comes before CommitTimeout (a strong write's
// store write must end within its bound): Commit returns ErrCommitUnknown
// at the deadline, not when the slow COMMIT ends.
func TestCommitDeadlineEndsTheWait(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	s, table := newTable(t, pool, postgres.Config{CommitTimeout: time.Minute})
	slowCommit(t, pool, table, 3*time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Commit(ctx, []store.Op[[]byte]{{Kind: store.OpSet, Key: "a", Value: []byte("x")}})
	took := time.Since(start)
	if !errors.Is(err, postgres.ErrCommitUnknown) {
		t.Fatalf("Commit with a deadline inside a slow COMMIT = %v; want ErrCommitUnknown", err)
	}
	if took >= 3*time.Second {
		t.Errorf("Commit returned after %v, when the COMMIT ended; want at its deadline, 300ms", took)
	}
	quiesce(t, pool, table)
}

// slowCommit makes every COMMIT that wrote rows of table sleep d per row,
// with a deferred constraint trigger, dropped by t.Cleanup.
func slowCommit(t *testing.T, pool *pgxpool.Pool, table string, d time.Duration) {
	t.Helper()
	ddl := fmt.Sprintf(`CREATE FUNCTION %[1]s_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(%[2]f); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER %[1]s_slow AFTER INSERT OR UPDATE ON %[1]s DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.version > 0) EXECUTE FUNCTION %[1]s_slow()`, table, d.Seconds())
	if _, err := pool.Exec(t.Context(), ddl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), fmt.Sprintf("DROP FUNCTION IF EXISTS %s_slow() CASCADE", table)); err != nil {
			t.Error(err)
		}
	})
}

// quiesce waits until no transaction that wrote table is still running
// (a commit whose client gave up may still be committing on the server),
// by taking the table's exclusive lock once, bounded by waitLimit.
func quiesce(t *testing.T, pool *pgxpool.Pool, table string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, fmt.Sprintf("LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", table)); err != nil {
		t.Fatalf("waiting for the writers of %s: %v", table, err)
	}
}
