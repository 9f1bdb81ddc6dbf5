package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

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
// and commits. Any failure rolls everything back.
func (s *Store[T]) Commit(ctx context.Context, ops []store.Op[T]) ([]merge.Version, error) {
	enc, err := s.prepare(ctx, ops)
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return []merge.Version{}, nil
	}
	var out []merge.Version
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, keys, err := s.lock(ctx, tx, ops)
		if err != nil {
			return err
		}
		out, err = s.plan(ctx, tx, ops, enc, cur, keys)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
			if _, err := check.Stored(uint64(r.version)); err != nil {
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
