package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/warpcache/warp/internal/pattern"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
)

// Warmup loads every registered key from the store into this node's cache:
// exact keys one by one, patterns by a prefix scan of the store. It returns
// the first error other than a key the store lacks.
func (w *Warp[T]) Warmup(ctx context.Context) error {
	if err := w.checkOpen(ctx, "warmup"); err != nil {
		return err
	}
	var regs []*registration
	w.table.Load().t.All(func(_ pattern.Pattern, r *registration) { regs = append(regs, r) })
	for _, r := range regs {
		if r.pat.Exact {
			if _, err := w.Get(ctx, r.pat.Prefix); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("warp: warmup %q: %w", r.pat.Prefix, err)
			}
			continue
		}
		gens := make([][]uint64, len(w.router.Shards()))
		for i, v := range w.router.Shards() {
			gens[i] = v.Gens() // before the scan: writes during it win
		}
		begun := w.node.Now()
		err := w.store.Scan(ctx, r.pat.Prefix, func(key string, it store.Item[T]) error {
			return w.warm(key, it, gens, begun)
		})
		if err != nil {
			return fmt.Errorf("warp: warmup %q: %w", r.pat, err)
		}
	}
	return nil
}

// warm installs a scanned item, if the key is still covered by a
// registration and no write or invalidation of its stripe happened since
// the generations gens were read, before the scan, which began at begun
// (node clock).
func (w *Warp[T]) warm(key string, it store.Item[T], gens [][]uint64, begun int64) error {
	if checkKey(key) != nil {
		return nil // the store holds keys Warp would not accept; skip them
	}
	reg, epoch, err := w.lookup(key)
	if err != nil || !w.cacheable(reg, begun) {
		return nil // a registration removed meanwhile, or a strong key that may not be cached now
	}
	entry, err := w.entry(key, reg, epoch, it.Value)
	if err != nil {
		return nil // too large to cache (Get serves it from the store) or not encodable (Get reports it)
	}
	h := w.router.Hash(key)
	i := w.router.ShardIndex(h)
	v := w.router.Shards()[i]
	w.node.HLC().Observe(it.Version)
	shard.PatchVersion(entry, it.Version)
	w.fill(key, v, entry, gens[i][v.StripeOf(h)])
	return nil
}
