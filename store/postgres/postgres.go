package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warpcache/warp/api/codec"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/internal/check"
)

// Store is a [store.Store] on one PostgreSQL table. It implements
// [store.Committer], [store.Historian] and [store.Membership] too, and is
// safe for concurrent use. It does not own the pool.
type Store[T any] struct {
	pool  *pgxpool.Pool
	codec codec.Codec[T]
	cfg   Config
	q     queries
}

// New returns a Store on the table cfg names, creating it (and the
// history and members tables) unless cfg.SkipSchema is set, in which case
// it checks that they exist. A nil codec means codec.Default[T]().
func New[T any](ctx context.Context, pool *pgxpool.Pool, c codec.Codec[T], cfg Config) (*Store[T], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, fmt.Errorf("postgres: nil pool: %w", store.ErrInvalid)
	}
	if c == nil {
		c = codec.Default[T]()
	}
	n := newNames(cfg.Table)
	if cfg.SkipSchema {
		if err := checkSchema(ctx, pool, n, cfg.History); err != nil {
			return nil, err
		}
	} else if err := ensureSchema(ctx, pool, n, cfg.History); err != nil {
		return nil, fmt.Errorf("postgres: create table %s: %w", n.table, err)
	}
	return &Store[T]{pool: pool, codec: c, cfg: cfg, q: newQueries(n)}, nil
}

// Get implements [store.Store].
func (s *Store[T]) Get(ctx context.Context, key string) (store.Item[T], error) {
	if err := s.checkKey(ctx, "get", key); err != nil {
		return store.Item[T]{}, err
	}
	var b []byte
	var v int64
	err := s.pool.QueryRow(ctx, s.q.get, key).Scan(&b, &v)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Item[T]{}, fmt.Errorf("postgres: get %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return store.Item[T]{}, fail(ctx, "get", key, err)
	}
	it, err := s.item(v, b)
	if err != nil {
		return store.Item[T]{}, fmt.Errorf("postgres: get %q: %w", key, err)
	}
	return it, nil
}

// item checks a version and value read back and decodes the value.
func (s *Store[T]) item(v int64, b []byte) (store.Item[T], error) {
	ver, err := stored(v)
	if err != nil {
		return store.Item[T]{}, err
	}
	if err := check.StoredValue(len(b), s.cfg.MaxValueSize); err != nil {
		return store.Item[T]{}, err
	}
	val, err := s.codec.Decode(b)
	if err != nil {
		return store.Item[T]{}, err
	}
	return store.Item[T]{Value: val, Version: ver}, nil
}

// stored checks a version read back from the table: a negative one, or
// one above merge.MaxVersion, was not written by an adapter and is an
// error wrapping store.ErrInvalid.
func stored(v int64) (merge.Version, error) {
	if v < 0 {
		return 0, fmt.Errorf("stored version %d < 0, not written by a store adapter: %w", v, store.ErrInvalid)
	}
	return check.Stored(uint64(v))
}

// Version implements [store.Store].
func (s *Store[T]) Version(ctx context.Context, key string) (merge.Version, error) {
	if err := s.checkKey(ctx, "version", key); err != nil {
		return 0, err
	}
	var v int64
	err := s.pool.QueryRow(ctx, s.q.version, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fail(ctx, "version", key, err)
	}
	ver, err := stored(v)
	if err != nil {
		return 0, fmt.Errorf("postgres: version %q: %w", key, err)
	}
	return ver, nil
}

// Set implements [store.Store] in one statement: an upsert, or an update
// for a compare-and-swap on a version above 0.
func (s *Store[T]) Set(ctx context.Context, key string, value T, w store.Write) (merge.Version, error) {
	if err := s.checkWrite(ctx, "set", key, w); err != nil {
		return 0, err
	}
	b, err := s.encode(key, value)
	if err != nil {
		return 0, err
	}
	return s.write(ctx, store.OpSet, key, b, w)
}

// Delete implements [store.Store]: the row stays as a tombstone.
func (s *Store[T]) Delete(ctx context.Context, key string, w store.Write) (merge.Version, error) {
	if err := s.checkWrite(ctx, "delete", key, w); err != nil {
		return 0, err
	}
	return s.write(ctx, store.OpDelete, key, nil, w)
}

// maxTries bounds how often a rejected write is retried when the row it ran
// into has changed since and would now admit it.
const maxTries = 8

func (s *Store[T]) write(ctx context.Context, kind store.OpKind, key string, b []byte, w store.Write) (merge.Version, error) {
	name := check.OpName(kind)
	q, args := s.statement(kind, key, b, w)
	for range maxTries {
		var v int64
		err := s.pool.QueryRow(ctx, q, args...).Scan(&v)
		if err == nil {
			ver, err := stored(v)
			if err != nil { // the statement's conditions rule this out
				return 0, fmt.Errorf("postgres: %s %q: applied, but: %w", name, key, err)
			}
			return ver, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, fail(ctx, name, key, err)
		}
		// A condition failed: read the row (and the member's) to say which.
		cur, err := s.state(ctx, key, w.Guard)
		if err != nil {
			return 0, fail(ctx, name, key, err)
		}
		if !cur.member {
			return 0, notMember(fmt.Sprintf("%s %q", name, key), w.Guard)
		}
		if err := admit(kind, key, cur, w); err != nil {
			return 0, fmt.Errorf("postgres: %s %w", name, err)
		}
	}
	return 0, fmt.Errorf("postgres: %s %q: still contended after %d tries: %w", name, key, maxTries, store.ErrConflict)
}

// statement returns the statement of a write and its arguments: an upsert,
// or an update for a compare-and-swap on a version above 0; with a guard,
// their guarded forms.
func (s *Store[T]) statement(kind store.OpKind, key string, b []byte, w store.Write) (string, []any) {
	cas := w.Check && w.IfVersion != 0
	args := []any{key, b, int64(w.Min), int64(w.Fence), kind == store.OpDelete, w.Check}
	q := s.q.upsert
	if cas {
		args[5], q = int64(w.IfVersion), s.q.update
	}
	if g := w.Guard; !g.IsZero() {
		args = append(args, g.Cluster, g.Node, int64(g.Incarnation))
		q = s.q.guarded[0]
		if cas {
			q = s.q.guarded[1]
		}
	}
	return q, args
}

// state reads key's row and, for a guarded write, whether its member's
// row exists (member is true for an unguarded one).
func (s *Store[T]) state(ctx context.Context, key string, g store.Guard) (row, error) {
	cur := row{member: true}
	if g.IsZero() {
		err := s.pool.QueryRow(ctx, s.q.state, key).Scan(&cur.version, &cur.fence)
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
		return cur, err
	}
	err := s.pool.QueryRow(ctx, s.q.stateGuarded, key, g.Cluster, g.Node, int64(g.Incarnation)).Scan(&cur.version, &cur.fence, &cur.member)
	return cur, err
}

// row is the state of a key that the write conditions look at.
type row struct {
	version, fence int64
	member         bool // the write's guard holds
}

// admit returns the error that keeps an op with w from applying to cur.
func admit(kind store.OpKind, key string, cur row, w store.Write) error {
	if _, err := stored(cur.version); err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	if (w.Check || kind == store.OpCheck) && merge.Version(cur.version) != w.IfVersion {
		return fmt.Errorf("%q is at version %d, not %d: %w", key, cur.version, w.IfVersion, store.ErrConflict)
	}
	if w.Fence != 0 && int64(w.Fence) < cur.fence {
		return fmt.Errorf("%q: token %d < %d: %w", key, w.Fence, cur.fence, store.ErrFenced)
	}
	if kind != store.OpCheck && cur.version >= int64(merge.MaxVersion) {
		return fmt.Errorf("%q: version space exhausted at %d: %w", key, cur.version, store.ErrInvalid)
	}
	return nil
}

// checkKey validates a key: PostgreSQL text holds valid UTF-8 without NUL.
func (s *Store[T]) checkKey(ctx context.Context, op, key string) error {
	switch {
	case key == "":
		return fmt.Errorf("postgres: %s: empty key: %w", op, store.ErrInvalid)
	case len(key) > s.cfg.MaxKeyLen:
		return fmt.Errorf("postgres: %s: key of %d bytes > %d: %w", op, len(key), s.cfg.MaxKeyLen, store.ErrTooLarge)
	case !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("postgres: %s %q: key is not UTF-8 without NUL: %w", op, key, store.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s %q: %w", op, key, err)
	}
	return nil
}

// checkWrite validates a write's key and numbers, which must fit a bigint.
func (s *Store[T]) checkWrite(ctx context.Context, op, key string, w store.Write) error {
	if err := s.checkKey(ctx, op, key); err != nil {
		return err
	}
	if err := check.Write(w); err != nil {
		return fmt.Errorf("postgres: %s %q: %w", op, key, err)
	}
	if w.Fence > math.MaxInt64 {
		return fmt.Errorf("postgres: %s %q: token above 2^63-1: %w", op, key, store.ErrInvalid)
	}
	return nil
}

func (s *Store[T]) encode(key string, v T) ([]byte, error) {
	b, err := s.codec.Append(nil, v)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode %q: %w", key, err)
	}
	if len(b) > s.cfg.MaxValueSize {
		return nil, fmt.Errorf("postgres: value of %q: %d bytes > %d: %w", key, len(b), s.cfg.MaxValueSize, store.ErrTooLarge)
	}
	if b == nil {
		b = []byte{} // nil would be NULL
	}
	return b, nil
}

// fail wraps an error from the server or the connection; if ctx ended, the
// error also wraps ctx's error.
// An empty key is left out of the message.
func fail(ctx context.Context, op, key string, err error) error {
	if key != "" {
		op = fmt.Sprintf("%s %q", op, key)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("postgres: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

var (
	_ store.Store[int]     = (*Store[int])(nil)
	_ store.Committer[int] = (*Store[int])(nil)
	_ store.Historian[int] = (*Store[int])(nil)
)
