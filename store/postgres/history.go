package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

// GetAt implements [store.Historian] from the key's row and the newest
// Config.History older versions that the history trigger keeps. A key whose
// history holds fewer than History versions has all of them, so a version
// older than its oldest is before the key existed (store.ErrNotFound);
// otherwise it may have been trimmed (store.ErrHistory).
func (s *Store[T]) GetAt(ctx context.Context, key string, at merge.Version) (store.Item[T], error) {
	if err := s.checkKey(ctx, "get at", key); err != nil {
		return store.Item[T]{}, err
	}
	if s.cfg.HistoryAge > 0 && at.Time().Before(s.cfg.Now().Add(-s.cfg.HistoryAge)) {
		// Only the current version may answer a time past the age.
		cur, err := s.Version(ctx, key)
		if err != nil {
			return store.Item[T]{}, err
		}
		if cur != 0 && cur > at {
			return store.Item[T]{}, fmt.Errorf("postgres: %q at %d: older than the history age %v: %w", key, at, s.cfg.HistoryAge, store.ErrHistory)
		}
	}
	bound := int64(min(uint64(at), math.MaxInt64))
	var v int64
	var b []byte
	var deleted bool
	err := s.pool.QueryRow(ctx, s.q.getAt, key, bound).Scan(&v, &b, &deleted)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Item[T]{}, s.before(ctx, key, at)
	case err != nil:
		return store.Item[T]{}, fail(ctx, "get at", key, err)
	case deleted:
		return store.Item[T]{}, fmt.Errorf("postgres: %q at %d: deleted at %d: %w", key, at, v, store.ErrNotFound)
	}
	it, err := s.item(v, b)
	if err != nil {
		return store.Item[T]{}, fmt.Errorf("postgres: get %q at %d: %w", key, at, err)
	}
	return it, nil
}

// before explains why no version of key is at or below at.
func (s *Store[T]) before(ctx context.Context, key string, at merge.Version) error {
	var exists bool
	var n int64
	if err := s.pool.QueryRow(ctx, s.q.historyLen, key).Scan(&exists, &n); err != nil {
		return fail(ctx, "get at", key, err)
	}
	if exists && n >= int64(s.cfg.History) {
		return fmt.Errorf("postgres: %q at %d: %w", key, at, store.ErrHistory)
	}
	return fmt.Errorf("postgres: %q at %d: %w", key, at, store.ErrNotFound)
}
