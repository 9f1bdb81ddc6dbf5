package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/allegro/bigcache/v3"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
)

// ValidatorMode says what the validator does about drift.
type ValidatorMode uint8

const (
	// ValidateAlert reports drift and changes nothing.
	ValidateAlert ValidatorMode = iota
	// ValidateHeal reports drift and drops each stale copy (only if it is
	// still older than the store's version, so a newer value is never
	// removed) and reloads it.
	ValidateHeal
)

// ValidatorConfig configures [Warp.StartValidator]. Zero fields take the
// documented defaults.
type ValidatorConfig struct {
	Mode ValidatorMode
	// Interval between rounds; default 1s.
	Interval time.Duration
	// Batch is how many cached entries a round checks, each costing one
	// store version read: the rate limit. Default 100.
	Batch int
	// OnDrift, if set, sees every drift found. It must not block.
	OnDrift func(Drift)
}

// Drift is a cached entry that disagrees with the store.
type Drift struct {
	Key string
	// Cached is the version this node holds; Stored the store's (0: the
	// key is gone from the store).
	Cached, Stored merge.Version
	// Ahead is true when the cache holds a version newer than the store's
	// (a store restored from a backup, or a write not yet visible to this
	// read); the validator reports it and never acts on it.
	Ahead bool
	// Healed is true when the validator dropped and reloaded the copy.
	Healed bool
}

// ValidatorStats counts what a validator did.
type ValidatorStats struct {
	Checked, Stale, Ahead, Healed, Errors uint64
}

// Validator samples cached entries in the background and compares their
// versions with the store. Stop it with Stop; Close stops it too.
type Validator[T any] struct {
	w    *Warp[T]
	cfg  ValidatorConfig
	done chan struct{}
	// ctx ends with Stop: the loop stops, and a check or heal waiting on a
	// hung store ends with it, and the round there.
	ctx    context.Context
	cancel context.CancelFunc

	checked, stale, ahead, healed, errs atomic.Uint64

	// position, touched only by the validator's goroutine
	shard int
	iter  *bigcache.EntryInfoIterator
}

// StartValidator starts a validator owned by the instance: Close stops it.
// Once Close has begun, it fails with ErrClosed.
func (w *Warp[T]) StartValidator(cfg ValidatorConfig) (*Validator[T], error) {
	if w.closed.Load() {
		return nil, ErrClosed
	}
	if cfg.Interval < 0 || cfg.Batch < 0 || cfg.Mode > ValidateHeal {
		return nil, fmt.Errorf("%w: validator %+v", ErrConfig, cfg)
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Batch == 0 {
		cfg.Batch = 100
	}
	v := &Validator[T]{w: w, cfg: cfg, done: make(chan struct{})}
	v.ctx, v.cancel = context.WithCancel(context.Background())
	if w.beforeValidatorsLock != nil {
		w.beforeValidatorsLock()
	}
	w.validatorsMu.Lock()
	if w.closed.Load() {
		// Close ran since the check above: it took the list of validators
		// to stop already, so this one would never be stopped. Close sets
		// closed before it takes the list, under validatorsMu.
		w.validatorsMu.Unlock()
		v.cancel()
		return nil, ErrClosed
	}
	w.validators = append(w.validators, v.Stop)
	w.validatorStats = append(w.validatorStats, v.Stats)
	w.validatorsMu.Unlock()
	go v.run()
	return v, nil
}

// Stop stops the validator and waits for it: a check waiting on the store
// ends at once. It is idempotent.
func (v *Validator[T]) Stop() {
	v.cancel() // idempotent
	<-v.done
}

// Stats returns the validator's counters.
func (v *Validator[T]) Stats() ValidatorStats {
	return ValidatorStats{Checked: v.checked.Load(), Stale: v.stale.Load(), Ahead: v.ahead.Load(), Healed: v.healed.Load(), Errors: v.errs.Load()}
}

func (v *Validator[T]) run() {
	defer close(v.done)
	t := time.NewTicker(v.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-v.ctx.Done():
			return
		case <-t.C:
			v.round()
		}
	}
}

// round checks up to Batch entries, continuing where the last round
// stopped and moving from shard to shard.
func (v *Validator[T]) round() {
	shards := v.w.router.Shards()
	for n, visited := 0, 0; n < v.cfg.Batch && visited < len(shards) && v.ctx.Err() == nil; { // each shard at most once a round
		if v.iter == nil {
			v.iter = shards[v.shard].Cache().Iterator()
		}
		if !v.iter.SetNext() {
			v.iter, v.shard, visited = nil, (v.shard+1)%len(shards), visited+1
			continue
		}
		e, err := v.iter.Value()
		if err != nil {
			continue
		}
		hdr, _, err := shard.ParseHeader(e.Value())
		if err != nil || hdr.Flags&shard.FlagNegative != 0 || !hdr.Live(v.w.node.Now()) {
			continue
		}
		n++
		v.check(e.Key(), hdr.Version)
	}
}

// check compares one cached version with the store's.
func (v *Validator[T]) check(key string, cached merge.Version) {
	w := v.w
	ctx, cancel := context.WithTimeout(v.ctx, v.cfg.Interval)
	defer cancel()
	v.checked.Add(1)
	stored, err := w.store.Version(ctx, key)
	if err == nil && stored != 0 && stored != cached {
		// A deletion moves the version too, so only a version that moved
		// can be a tombstone's: a second read tells.
		if _, gerr := w.store.Get(ctx, key); errors.Is(gerr, store.ErrNotFound) {
			stored = 0 // a tombstone: the key is gone
		}
	}
	if err != nil && v.ctx.Err() != nil {
		return // stopped: not the store's failure
	}
	if err != nil {
		v.errs.Add(1)
		w.node.Logger().Warn("warp: validator", slog.String("key", key), slog.Any("err", err))
		return
	}
	if stored == cached {
		return
	}
	d := Drift{Key: key, Cached: cached, Stored: stored, Ahead: stored != 0 && stored < cached}
	if d.Ahead {
		v.ahead.Add(1)
	} else {
		v.stale.Add(1)
		if v.cfg.Mode == ValidateHeal {
			d.Healed = v.heal(key, stored)
		}
	}
	w.node.Logger().Warn("warp: validator found drift", slog.String("key", key),
		slog.Uint64("cached", uint64(cached)), slog.Uint64("stored", uint64(stored)), slog.Bool("healed", d.Healed))
	if v.cfg.OnDrift != nil {
		v.cfg.OnDrift(d)
	}
}

// heal drops key's copy if it is still older than stored (0: gone), then
// reloads it.
func (v *Validator[T]) heal(key string, stored merge.Version) bool {
	w := v.w
	h := w.router.Hash(key)
	limit := stored
	if limit == 0 {
		limit = merge.Version(1<<63 - 1) // gone from the store: any copy is stale
	}
	rep := w.router.Replies.Get()
	res, err := w.request(w.router.Shard(h), &messages.Invalidate{Key: key, Version: limit, Reply: rep}, rep)
	if err != nil || !res.Applied {
		return false
	}
	v.healed.Add(1)
	if stored != 0 {
		_, _ = w.Get(v.ctx, key)
	}
	return true
}
