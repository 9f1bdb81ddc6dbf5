package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warpcache/warp/internal/pgtest"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/postgres"
)

// TestRemovalWaitsForWritesInFlight holds a guarded write in flight (it
// has locked its member row and waits for the key's row, which the test
// holds), then removes the member (Expel, Leave, or a Join that replaces
// the record). The removal must wait for that write, and must not let a
// new write of the member in meanwhile: a new guarded write fails with
// ErrNotMember at once, so a member that keeps writing cannot starve the
// removal (as it would starve a plain DELETE, which new FOR KEY SHARE
// lockers overtake).
func TestRemovalWaitsForWritesInFlight(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	removals := []struct {
		name   string
		remove func(ctx context.Context, m store.Membership, inc uint64) error
	}{
		{"Expel", func(ctx context.Context, m store.Membership, inc uint64) error {
			ok, err := m.Expel(ctx, "c", store.Member{Node: "a", Incarnation: inc})
			if err == nil && !ok {
				err = errors.New("Expel = false; want true")
			}
			return err
		}},
		{"Leave", func(ctx context.Context, m store.Membership, inc uint64) error {
			return m.Leave(ctx, "c", "a", inc)
		}},
		{"Join", func(ctx context.Context, m store.Membership, inc uint64) error {
			next, err := m.Join(ctx, "c", "a", 0)
			if err == nil && next <= inc {
				err = fmt.Errorf("Join = %d; want above %d", next, inc)
			}
			return err
		}},
	}
	for _, r := range removals {
		for _, w := range guardedWrites {
			t.Run(r.name+"/"+w.name, func(t *testing.T) {
				t.Parallel()
				h := holdWrite(t, pool, w.write)
				s, inc, ctx := h.s, h.g.Incarnation, t.Context()
				removed := make(chan error, 1)
				go func() { removed <- r.remove(ctx, s, inc) }()
				pgtest.BlockedBy(t, pool, h.writer, waitLimit) // the removal waits for the write

				_, err := s.Set(ctx, "other", []byte("new"), store.Write{Guard: h.g})
				if !errors.Is(err, store.ErrNotMember) {
					t.Fatalf("a new guarded Set while %s waits = %v; want ErrNotMember at once", r.name, err)
				}
				if _, err := s.Renew(ctx, "c", "a", inc); !errors.Is(err, store.ErrNotMember) {
					t.Fatalf("Renew while %s waits = %v; want ErrNotMember", r.name, err)
				}
				select {
				case err := <-removed:
					t.Fatalf("%s returned (%v) while a guarded write was in flight", r.name, err)
				default:
				}
				h.unlock()
				res := <-h.wrote
				must(t, res.err)
				must(t, <-removed)
				if v, err := s.Version(ctx, "k"); err != nil || v != res.v {
					t.Fatalf("Version(k) after %s = %d, %v; want the write in flight's %d", r.name, v, err, res.v)
				}
			})
		}
	}
}

// A Leave asked again after one that marked the record dead but gave up
// waiting for the writes in flight waits for them too: a node settling a
// write whose outcome the store left open asks for its Leave until one
// returns, and takes that return to mean the write has landed or never
// will.
func TestLeaveAgainWaitsForWritesInFlight(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	for _, w := range guardedWrites {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			h := holdWrite(t, pool, w.write)
			ctx, inc := t.Context(), h.g.Incarnation
			first, cancel := context.WithCancel(ctx)
			gaveUp := make(chan error, 1)
			go func() { gaveUp <- h.s.Leave(first, "c", "a", inc) }()
			firstPid := pgtest.BlockedBy(t, pool, h.writer, waitLimit) // the first Leave waits for the write
			cancel()
			if err := <-gaveUp; err == nil {
				t.Fatal("a Leave cancelled while a guarded write was in flight returned nil")
			}
			removed := make(chan error, 1)
			go func() { removed <- h.s.Leave(ctx, "c", "a", inc) }()
			// So does the second (the first's statement may still wait on
			// the server, its client gone).
			pgtest.BlockedBy(t, pool, h.writer, waitLimit, firstPid)
			select {
			case err := <-removed:
				t.Fatalf("the second Leave returned (%v) while a guarded write was in flight", err)
			default:
			}
			h.unlock()
			must(t, (<-h.wrote).err)
			must(t, <-removed)
		})
	}
}

// A Leave whose deadline ends while a guarded write is in flight leaves no
// statement waiting on the server once pgx's cancel request has been acted
// on (pgx, giving up, has the server cancel it), so a node that asks again
// at every tick does not pile up backends queued for the lock.
func TestRemovalThatGivesUpLeavesNothingWaiting(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	h := holdWrite(t, pool, guardedWrites[0].write)
	for range 3 {
		short, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		err := h.s.Leave(short, "c", "a", h.g.Incarnation)
		cancel()
		if err == nil {
			t.Fatal("a Leave returned nil while a guarded write was in flight")
		}
	}
	// pgx's cancel request travels on a connection of its own and the
	// server acts on it asynchronously: under load a cancelled statement
	// can still be queued for a moment after Leave returned. Bounded
	// against a statement that is never cancelled.
	var waiting int
	for deadline := time.Now().Add(10 * time.Second); ; <-time.After(10 * time.Millisecond) {
		must(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))`, h.writer).Scan(&waiting))
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d statements still wait for the write's lock 10 s after three Leaves gave up; want none", waiting)
		}
	}
	h.unlock()
	must(t, (<-h.wrote).err)
}

// guardedWrites are the writes that TestRemovalWaitsForWritesInFlight and
// TestRenewDoesNotWaitForWrites hold in flight: each writes key k (a
// Commit, keys j and k) guarded by g, and returns k's version.
var guardedWrites = []struct {
	name  string
	write func(ctx context.Context, s *postgres.Store[[]byte], g store.Guard) (merge.Version, error)
}{
	{"Set", func(ctx context.Context, s *postgres.Store[[]byte], g store.Guard) (merge.Version, error) {
		return s.Set(ctx, "k", []byte("in flight"), store.Write{Guard: g})
	}},
	{"Commit", func(ctx context.Context, s *postgres.Store[[]byte], g store.Guard) (merge.Version, error) {
		vs, err := s.Commit(ctx, []store.Op[[]byte]{
			{Kind: store.OpSet, Key: "j", Value: []byte("in flight"), Write: store.Write{Guard: g}},
			{Kind: store.OpSet, Key: "k", Value: []byte("in flight"), Write: store.Write{Guard: g}},
		})
		if err != nil {
			return 0, err
		}
		return vs[1], nil
	}},
}

// heldWrite is a guarded write of member a (cluster c) held in flight: it
// has locked its member row and waits for key k's row, which the test
// holds until unlock.
type heldWrite struct {
	s      *postgres.Store[[]byte]
	g      store.Guard
	writer int32 // the write's backend
	unlock func()
	wrote  chan heldResult
}

type heldResult struct {
	v   merge.Version
	err error
}

// holdWrite joins a to a new table, writes k unguarded, locks k's row and
// starts write guarded by a's record, returning once the write waits for
// the row.
func holdWrite(t *testing.T, pool *pgxpool.Pool, write func(context.Context, *postgres.Store[[]byte], store.Guard) (merge.Version, error)) *heldWrite {
	t.Helper()
	s, table := newTable(t, pool, postgres.Config{})
	ctx := t.Context()
	inc, err := s.Join(ctx, "c", "a", 1)
	must(t, err)
	h := &heldWrite{s: s, g: store.Guard{Cluster: "c", Node: "a", Incarnation: inc}, wrote: make(chan heldResult, 1)}
	_, err = s.Set(ctx, "k", []byte("before"), store.Write{})
	must(t, err)
	holder, unlock := lockRow(t, pool, table, "k")
	t.Cleanup(unlock)
	h.unlock = unlock
	go func() {
		v, err := write(ctx, s, h.g)
		h.wrote <- heldResult{v, err}
	}()
	h.writer = pgtest.BlockedBy(t, pool, holder, waitLimit)
	return h
}

// TestRenewDoesNotWaitForWrites holds a guarded write in flight, as
// TestRemovalWaitsForWritesInFlight does, and renews its member: Renew's
// UPDATE leaves the row's key alone, so it must not wait for the write's
// FOR KEY SHARE lock, and the write must then apply.
func TestRenewDoesNotWaitForWrites(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	for _, w := range guardedWrites {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			h := holdWrite(t, pool, w.write)
			inc := h.g.Incarnation
			rctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			ms, err := h.s.Renew(rctx, "c", "a", inc)
			if err != nil {
				t.Fatalf("Renew while a guarded write is in flight = %v; want it to return at once, renewed", err)
			}
			if len(ms) != 1 || ms[0] != (store.Member{Node: "a", Incarnation: inc, Counter: 1}) {
				t.Fatalf("Renew = %+v; want a at incarnation %d, counter 1", ms, inc)
			}
			h.unlock()
			must(t, (<-h.wrote).err)
		})
	}
}

// TestSkipSchema: with Config.SkipSchema, New fails, naming the missing
// table and schema.sql, unless every table exists.
func TestSkipSchema(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	_, table := newTable(t, pool, postgres.Config{})
	cfg := postgres.Config{Table: table, SkipSchema: true, History: 2}
	if _, err := postgres.New[[]byte](t.Context(), pool, nil, cfg); err != nil {
		t.Fatalf("New with SkipSchema on a complete schema: %v", err)
	}
	for _, drop := range []string{table + "_members", table + "_history", table} {
		if _, err := pool.Exec(t.Context(), "DROP TABLE "+drop); err != nil {
			t.Fatal(err)
		}
		_, err := postgres.New[[]byte](t.Context(), pool, nil, cfg)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), `"`+drop+`"`) ||
			!strings.Contains(err.Error(), "store/postgres/schema.sql") || !strings.HasPrefix(err.Error(), "postgres: ") {
			t.Fatalf("New with SkipSchema without %s = %v; want ErrInvalid naming it and schema.sql", drop, err)
		}
	}
	cfg.History = 0 // the history table is not needed then
	_, err := postgres.New[[]byte](t.Context(), pool, nil, cfg)
	if err == nil || strings.Contains(err.Error(), "_history") {
		t.Fatalf("New with SkipSchema, History 0, no tables = %v; want the data and members tables named only", err)
	}
}

// TestStoredVersionOutOfRange: a version above merge.MaxVersion, or a
// negative one, that got into the table by other means is an error
// wherever it is read, and no write moves it. Set and Delete on a
// negative version used to apply and return version 0.
func TestStoredVersionOutOfRange(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	for _, bad := range []int64{int64(merge.MaxVersion) + 1, -5} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			t.Parallel()
			s, table := newTable(t, pool, postgres.Config{History: 2})
			ctx := t.Context()
			_, err := s.Set(ctx, "k", []byte("v"), store.Write{})
			must(t, err)
			_, err = pool.Exec(ctx, fmt.Sprintf("UPDATE %s SET version = $1 WHERE key = 'k'", table), bad)
			must(t, err)
			calls := map[string]func() error{
				"Get":     func() error { _, err := s.Get(ctx, "k"); return err },
				"Version": func() error { _, err := s.Version(ctx, "k"); return err },
				"GetAt":   func() error { _, err := s.GetAt(ctx, "k", 1<<63-1); return err },
				"Scan":    func() error { return s.Scan(ctx, "", func(string, store.Item[[]byte]) error { return nil }) },
				"Set":     func() error { _, err := s.Set(ctx, "k", []byte("w"), store.Write{}); return err },
				"SetMin":  func() error { _, err := s.Set(ctx, "k", []byte("w"), store.Write{Min: 7}); return err },
				"Create":  func() error { _, err := s.Set(ctx, "k", []byte("w"), store.Write{Check: true}); return err },
				"Delete":  func() error { _, err := s.Delete(ctx, "k", store.Write{}); return err },
				"Commit": func() error {
					_, err := s.Commit(ctx, []store.Op[[]byte]{{Kind: store.OpCheck, Key: "k"}})
					return err
				},
				"CommitSet": func() error {
					_, err := s.Commit(ctx, []store.Op[[]byte]{{Kind: store.OpSet, Key: "k", Value: []byte("w")}})
					return err
				},
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, store.ErrInvalid) || !strings.HasPrefix(err.Error(), "postgres: ") {
					t.Errorf("%s of version %d = %v; want a postgres: error wrapping ErrInvalid", name, bad, err)
				}
			}
			var v int64
			var deleted bool
			must(t, pool.QueryRow(ctx, fmt.Sprintf("SELECT version, deleted FROM %s WHERE key = 'k'", table)).Scan(&v, &deleted))
			if v != bad || deleted {
				t.Errorf("row after the writes: version %d, deleted %v; want %d, false: no write moves it", v, deleted, bad)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestStoredValueTooLarge: a value above Config.MaxValueSize that got into
// the table (or its history) by other means is an error wrapping
// store.ErrInvalid wherever it is read, not a value; one of MaxValueSize
// bytes reads back. Get used to return a 1 MiB value with MaxValueSize
// 1024.
func TestStoredValueTooLarge(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	const max = 1024
	s, table := newTable(t, pool, postgres.Config{History: 2, MaxValueSize: max})
	ctx := t.Context()
	for _, k := range []string{"big", "old", "old", "full"} {
		_, err := s.Set(ctx, k, []byte("v"), store.Write{})
		must(t, err)
	}
	_, err := pool.Exec(ctx, fmt.Sprintf(`UPDATE %s SET value = repeat('x', $2)::bytea WHERE key = $1`, table), "big", 1<<20)
	must(t, err)
	_, err = pool.Exec(ctx, fmt.Sprintf(`UPDATE %s SET value = repeat('x', $2)::bytea WHERE key = $1`, table), "full", max)
	must(t, err)
	_, err = pool.Exec(ctx, fmt.Sprintf(`UPDATE %s_history SET value = repeat('x', $2)::bytea WHERE key = $1`, table), "old", max+1)
	must(t, err)
	calls := map[string]func() error{
		"Get":   func() error { _, err := s.Get(ctx, "big"); return err },
		"GetAt": func() error { _, err := s.GetAt(ctx, "big", 1<<62-1); return err },
		"GetAt history": func() error {
			_, err := s.GetAt(ctx, "old", 1)
			return err
		},
		"Scan": func() error { return s.Scan(ctx, "b", func(string, store.Item[[]byte]) error { return nil }) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, store.ErrInvalid) || !strings.HasPrefix(err.Error(), "postgres: ") {
			t.Errorf("%s of a value above MaxValueSize = %v; want a postgres: error wrapping ErrInvalid", name, err)
		}
	}
	if it, err := s.Get(ctx, "full"); err != nil || len(it.Value) != max {
		t.Errorf("Get of a value of MaxValueSize bytes = %d bytes, %v; want %d, nil", len(it.Value), err, max)
	}
	if it, err := s.GetAt(ctx, "old", 2); err != nil || string(it.Value) != "v" {
		t.Errorf("GetAt(old, 2) = %q, %v; want the current value", it.Value, err)
	}
}

// TestRenewSkipsRecordsNoJoinWrote: member rows that no Join could have
// written (put there by hand, a bug or a hostile writer: a node id over
// store.MaxIDLen, one with invalid UTF-8, a negative counter) are left out
// of Renew's list: taken into a view, such a member could never answer nor
// be expelled, and every node's lease would stay off.
func TestRenewSkipsRecordsNoJoinWrote(t *testing.T) {
	t.Parallel()
	pool, s, table, inc := joinedA(t)
	ctx := t.Context()
	for _, row := range []struct {
		node    string
		counter int64
	}{
		{strings.Repeat("x", store.MaxIDLen+1), 0},
		{"bad\xff", 0},
		{"negative", -5},
	} {
		_, err := pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s_members (cluster, node, incarnation, counter) VALUES ('c', $1, 7, $2)`, table), row.node, row.counter)
		if err != nil && row.node == "bad\xff" {
			continue // PostgreSQL refuses invalid UTF-8 itself
		}
		must(t, err)
	}
	ms, err := s.Renew(ctx, "c", "a", inc)
	must(t, err)
	if len(ms) != 1 || ms[0].Node != "a" {
		t.Fatalf("Renew listed %v; want only a", ms)
	}
}

// TestRenewRefusesMoreMembersThanJoinAdmits: rows beyond store.MaxMembers,
// written by something other than Join, fail Renew with ErrTooLarge: a
// list of MaxMembers of them would leave out members no node then waits
// for. Once they are gone, Renew lists the members again.
func TestRenewRefusesMoreMembersThanJoinAdmits(t *testing.T) {
	t.Parallel()
	pool, s, table, inc := joinedA(t)
	ctx := t.Context()
	_, err := pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s_members (cluster, node, incarnation, counter)
SELECT 'c', 'x' || i, 7, 0 FROM generate_series(1, %d) AS i`, table, store.MaxMembers))
	must(t, err)
	if _, err := s.Renew(ctx, "c", "a", inc); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Renew with %d members: %v; want ErrTooLarge", store.MaxMembers+1, err)
	}
	_, err = pool.Exec(ctx, fmt.Sprintf(`DELETE FROM %s_members WHERE cluster = 'c' AND node = 'x1'`, table))
	must(t, err)
	ms, err := s.Renew(ctx, "c", "a", inc)
	must(t, err)
	if len(ms) != store.MaxMembers {
		t.Fatalf("Renew listed %d members; want %d", len(ms), store.MaxMembers)
	}
}

// joinedA returns a pool, a store on tables of its own (their name
// prefix), and the incarnation of member "a", joined to cluster "c".
func joinedA(t *testing.T) (*pgxpool.Pool, *postgres.Store[[]byte], string, uint64) {
	t.Helper()
	pool := testPool(t)
	s, table := newTable(t, pool, postgres.Config{})
	inc, err := s.Join(t.Context(), "c", "a", 0)
	must(t, err)
	return pool, s, table, inc
}
