package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
)

// ErrHistory: GetAt asked for a time older than the history kept.
var ErrHistory = errors.New("warp: time before the retained history")

// GetAt returns the value key had at time at: the newest version written at
// or before at (versions are hybrid-logical-clock timestamps, so "at" is
// read with millisecond precision).
//
// The answer comes from this node's cache when the cached copy is already
// at or before at (it is then the value at that time), else from the
// store's history (store.Historian: the memory store with
// Options.History, PostgreSQL with Config.History). A time older than the
// retained history, or a store that keeps none, gives an error wrapping
// ErrHistory, never a wrong value; a time before the key existed gives
// ErrNotFound.
func (w *Warp[T]) GetAt(ctx context.Context, key string, at time.Time) (T, error) {
	var zero T
	if err := w.check(ctx, key); err != nil {
		return zero, err
	}
	_, epoch, err := w.lookup(key)
	if err != nil {
		return zero, err
	}
	ver := merge.MakeVersion(at) | (1<<16 - 1) // every version issued in at's millisecond
	h := w.router.Hash(key)
	if b, ok := w.router.Shard(h).Load(key); ok {
		now := w.node.Now()
		// The checks of Get's cache path (registration included), and
		// a version at or before at.
		if hdr, val, err := shard.ParseHeader(b); err == nil && hdr.Live(now) && w.servable(key, hdr.Flags, now) &&
			(hdr.Epoch == epoch || w.stillRegistered(key, hdr)) && hdr.Flags&shard.FlagNegative == 0 && hdr.Version <= ver {
			out, err := w.codec.Decode(val)
			if err != nil {
				return zero, fmt.Errorf("%w: %w: decode %q: %w", ErrLoader, ErrCodec, key, err)
			}
			return out, nil
		}
	}
	hist, ok := w.store.(store.Historian[T])
	if !ok {
		return zero, fmt.Errorf("%w: %q: the store keeps no history", ErrHistory, key)
	}
	it, err := hist.GetAt(ctx, key, ver)
	switch {
	case errors.Is(err, store.ErrHistory):
		return zero, fmt.Errorf("%w: %q at %v: %w", ErrHistory, key, at, err)
	case errors.Is(err, store.ErrNotFound):
		return zero, fmt.Errorf("warp: %q at %v: %w", key, at, ErrNotFound)
	case err != nil:
		return zero, fmt.Errorf("%w: %q at %v: %w", ErrLoader, key, at, err)
	}
	return it.Value, nil
}
