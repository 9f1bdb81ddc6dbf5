package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/internal/check"
)

// Commit implements [store.Committer] with one transaction: one pipelined
// batch locks the member rows of the ops' guards FOR KEY SHARE (a statement
// of its own, only if an op is guarded), then every key's row in key order
// (inserting a placeholder for a missing key, so that no other writer can
// create it meanwhile); Commit checks every op against the locked rows and
// the ops before it, then applies the writes in a second pipelined batch
// and commits. A failure before COMMIT, or ctx ending before it, rolls
// everything back.
//
// COMMIT itself is sent under a context that ctx's cancellation does not
// cut short: once COMMIT is sent, Commit waits for its reply, until ctx's
// deadline or [Config].CommitTimeout, whichever comes first, so that a
// cancel can never turn a committed transaction into an error. If the
// reply does not come by then (the connection is lost, the deadline or
// CommitTimeout passes), the outcome is unknown and the error wraps
// [ErrCommitUnknown]: a caller's deadline bounds Commit (a strong write's
// store write must end within its bound).
func (s *Store[T]) Commit(ctx context.Context, ops []store.Op[T]) ([]merge.Version, error) {
	enc, err := s.prepare(ctx, ops)
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return []merge.Version{}, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fail(ctx, "commit", "", err)
	}
	sent := false
	defer func() {
		if !sent { // an error or a panic before COMMIT: roll back
			_ = tx.Rollback(ctx) // a failed rollback closes the connection, which rolls back too
		}
	}()
	out, err := s.body(ctx, tx, ops, enc)
	if err != nil {
		return nil, err
	}
	sent = true
	if err := s.commit(ctx, tx); err != nil {
		return nil, err
	}
	return out, nil
}

// body locks and checks the ops' rows and applies the ops in tx; it fails
// with ctx's error if ctx ended meanwhile, so that nothing is committed
// after the caller gave up.
func (s *Store[T]) body(ctx context.Context, tx pgx.Tx, ops []store.Op[T], enc [][]byte) ([]merge.Version, error) {
	cur, keys, err := s.lock(ctx, tx, ops)
	if err != nil {
		return nil, err
	}
	out, err := s.plan(ctx, tx, ops, enc, cur, keys)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	return out, nil
}

// commit sends COMMIT under a context of its own (ctx's values and
// deadline, without its cancellation, bounded by Config.CommitTimeout) and
// tells a COMMIT that certainly failed from one whose outcome is unknown.
func (s *Store[T]) commit(ctx context.Context, tx pgx.Tx) error {
	deadline := time.Now().Add(s.cfg.CommitTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	err := tx.Commit(cctx)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrTxCommitRollback), errors.As(err, &pgErr), pgconn.SafeToRetry(err):
		// The server answered with a rollback or an error, or COMMIT was
		// never sent: nothing was committed.
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return fmt.Errorf("postgres: commit: no reply to COMMIT: %w: %w", ErrCommitUnknown, err)
}

// prepare validates ops and encodes their values.
func (s *Store[T]) prepare(ctx context.Context, ops []store.Op[T]) ([][]byte, error) {
	enc := make([][]byte, len(ops))
	for i, op := range ops {
		if err := s.checkWrite(ctx, "commit", op.Key, op.Write); err != nil {
			return nil, err
		}
		switch op.Kind {
		case store.OpSet:
			b, err := s.encode(op.Key, op.Value)
			if err != nil {
				return nil, err
			}
			enc[i] = b
		case store.OpDelete, store.OpCheck:
		default:
			return nil, fmt.Errorf("postgres: commit: op %d on %q has kind %d: %w", i, op.Key, op.Kind, store.ErrInvalid)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	return enc, nil
}

// lock locks, in one round trip, the member rows of ops' guards, then the
// rows of ops' keys in key order, and returns the keys' state and sorted
// keys; it fails with store.ErrNotMember if a guard has no live row.
func (s *Store[T]) lock(ctx context.Context, tx pgx.Tx, ops []store.Op[T]) (map[string]row, []string, error) {
	keys := make([]string, 0, len(ops))
	for _, op := range ops {
		keys = append(keys, op.Key)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	cur := make(map[string]row, len(keys))
	read := func(rows pgx.Rows) error {
		var k string
		var r row
		_, err := pgx.ForEachRow(rows, []any{&k, &r.version, &r.fence}, func() error {
			if _, err := stored(r.version); err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
			cur[k] = r
			return nil
		})
		return err
	}
	b := &pgx.Batch{}
	members := s.guard(b, ops)
	var err error
	if b.Len() == 0 { // unguarded: a plain query costs less than a batch
		rows, _ := tx.Query(ctx, s.q.lock, keys)
		err = read(rows)
	} else {
		b.Queue(s.q.lock, keys).Query(read)
		err = tx.SendBatch(ctx, b).Close()
	}
	if err := members(); err != nil {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fail(ctx, "commit", "", err)
	}
	return cur, keys, nil
}

// plan checks ops in order against cur, then applies them and removes the
// placeholders of keys that were only checked.
func (s *Store[T]) plan(ctx context.Context, tx pgx.Tx, ops []store.Op[T], enc [][]byte, cur map[string]row, keys []string) ([]merge.Version, error) {
	out := make([]merge.Version, len(ops))
	batch := &pgx.Batch{}
	for i, op := range ops {
		r := cur[op.Key]
		if err := admit(op.Kind, op.Key, r, op.Write); err != nil {
			return nil, fmt.Errorf("postgres: commit: op %d (%s) %w", i, check.OpName(op.Kind), err)
		}
		if op.Kind == store.OpCheck {
			out[i] = merge.Version(r.version)
			continue
		}
		r.version = max(int64(op.Write.Min), r.version+1)
		r.fence = max(r.fence, int64(op.Write.Fence))
		cur[op.Key] = r
		out[i] = merge.Version(r.version)
		batch.Queue(s.q.apply, op.Key, enc[i], r.version, r.fence, op.Kind == store.OpDelete)
	}
	batch.Queue(s.q.unplace, keys)
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fail(ctx, "commit", "", err)
	}
	return out, nil
}
