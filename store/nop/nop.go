// Package nop is a [store.Store] that keeps nothing: a write gets a fresh
// version and is forgotten, a read finds no key. It exists to measure a
// cache alone (warp-bench -store none, BenchmarkMemory1M): with it, the
// heap holds only what the cache keeps. It is no primary store.
package nop

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/internal/check"
)

// Store keeps nothing. The zero value is ready to use.
type Store[T any] struct{ v atomic.Uint64 }

var _ store.Store[int] = (*Store[int])(nil)

// Get implements [store.Store]: no key exists.
func (s *Store[T]) Get(context.Context, string) (store.Item[T], error) {
	return store.Item[T]{}, store.ErrNotFound
}

// Version implements [store.Store]: every key is unwritten.
func (s *Store[T]) Version(context.Context, string) (merge.Version, error) { return 0, nil }

// Set implements [store.Store]: it returns a version above w.Min and
// every version it returned before, and keeps nothing. A guarded write
// fails with store.ErrInvalid, since the store keeps no membership, and
// so do versions above merge.MaxVersion.
func (s *Store[T]) Set(_ context.Context, _ string, _ T, w store.Write) (merge.Version, error) {
	return s.next("set", w)
}

// Delete implements [store.Store] as Set does.
func (s *Store[T]) Delete(_ context.Context, _ string, w store.Write) (merge.Version, error) {
	return s.next("delete", w)
}

// Scan implements [store.Store]: there is nothing to scan.
func (s *Store[T]) Scan(context.Context, string, func(string, store.Item[T]) error) error {
	return nil
}

func (s *Store[T]) next(op string, w store.Write) (merge.Version, error) {
	if err := check.Write(w); err != nil {
		return 0, fmt.Errorf("nop: %s: %w", op, err)
	}
	if !w.Guard.IsZero() {
		return 0, fmt.Errorf("nop: %s: a guarded write needs a store.Membership: %w", op, store.ErrInvalid)
	}
	for {
		cur := s.v.Load()
		if cur >= uint64(merge.MaxVersion) {
			return 0, fmt.Errorf("nop: %s: version space exhausted: %w", op, store.ErrInvalid)
		}
		n := max(uint64(w.Min), cur+1)
		if s.v.CompareAndSwap(cur, n) {
			return merge.Version(n), nil
		}
	}
}
