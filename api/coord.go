package api

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/store"
)

// ErrNoCoordination: the instance was built without WithLeases or
// WithLocks.
var ErrNoCoordination = errors.New("warp: leases or locks not configured")

// WithLeases enables leases on the JetStream KV bucket of cfg
// (bus/natslease): GrantLease, AttachLease, KeepAliveLease and
// RevokeLease. When a lease is revoked or expires, on any node, every
// instance that enabled leases on the bucket drops its cached copies of the
// keys attached to it, wherever they were attached; the end of a lease
// whose keys the watcher could not keep (more than cfg.MaxAttachments, or
// a lease past cfg.MaxLeases) flushes the cache instead, and so does a
// watcher that may have missed lease ends (cut off, paused or held up for
// half of cfg.MarkerTTL or more, or its watch ended;
// natslease.Config.Flush). cfg.Flush is the instance's own: one the caller
// set is replaced.
func WithLeases[T any](js jetstream.JetStream, cfg natslease.Config) Option[T] {
	return func(o *options[T]) error {
		if js == nil {
			return fmt.Errorf("%w: nil JetStream for leases", ErrConfig)
		}
		o.leases = &leaseCfg{js: js, cfg: cfg}
		return nil
	}
}

// WithLocks enables distributed locks on the JetStream KV bucket of cfg
// (bus/natslock): Lock and TryLock, with server-side expiry and fencing
// tokens to pass to SetFenced.
func WithLocks[T any](js jetstream.JetStream, cfg natslock.Config) Option[T] {
	return func(o *options[T]) error {
		if js == nil {
			return fmt.Errorf("%w: nil JetStream for locks", ErrConfig)
		}
		o.locks = &lockCfg{js: js, cfg: cfg}
		return nil
	}
}

// coordCounters are the counters behind CoordinationStats.
type coordCounters struct {
	leasesGranted, leasesRevoked, leaseKeysDropped atomic.Uint64
	locksAcquired, locksContended                  atomic.Uint64
}

func (w *Warp[T]) coordinationStats() CoordinationStats {
	c := &w.coord
	s := CoordinationStats{
		LeasesGranted: c.leasesGranted.Load(), LeasesRevoked: c.leasesRevoked.Load(),
		LeaseKeysDropped: c.leaseKeysDropped.Load(),
		LocksAcquired:    c.locksAcquired.Load(), LocksContended: c.locksContended.Load(),
	}
	w.validatorsMu.Lock()
	for _, v := range w.validatorStats {
		vs := v()
		s.Validator.Checked += vs.Checked
		s.Validator.Stale += vs.Stale
		s.Validator.Ahead += vs.Ahead
		s.Validator.Healed += vs.Healed
		s.Validator.Errors += vs.Errors
	}
	w.validatorsMu.Unlock()
	return s
}

type leaseCfg struct {
	js  jetstream.JetStream
	cfg natslease.Config
}

type lockCfg struct {
	js  jetstream.JetStream
	cfg natslock.Config
}

// startCoordination starts leases and locks, if configured.
func (w *Warp[T]) startCoordination(o *options[T]) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if o.leases != nil {
		cfg := o.leases.cfg
		cfg.Flush = w.leaseFlush
		l, err := natslease.New(ctx, o.leases.js, cfg, w.leaseRevoked)
		if err != nil {
			return fmt.Errorf("%w: leases: %w", ErrConfig, err)
		}
		w.leases = l
	}
	if o.locks != nil {
		if o.locks.cfg.Owner == "" {
			o.locks.cfg.Owner = w.node.ID()
		}
		l, err := natslock.New(ctx, o.locks.js, o.locks.cfg)
		if err != nil {
			return fmt.Errorf("%w: locks: %w", ErrConfig, err)
		}
		w.locks = l
	}
	return nil
}

// leaseRevoked drops this node's cached copies of a revoked lease's keys.
// Every node's watcher calls it, so no broadcast is needed.
func (w *Warp[T]) leaseRevoked(_ string, keys []string) {
	if w.closed.Load() {
		return
	}
	w.coord.leasesRevoked.Add(1)
	w.coord.leaseKeysDropped.Add(uint64(len(keys)))
	for _, k := range keys {
		if checkKey(k) != nil {
			continue
		}
		rep := w.router.Replies.Get()
		_, _ = w.request(w.router.Shard(w.router.Hash(k)), &messages.Invalidate{Key: k, Reply: rep}, rep)
	}
}

// leaseFlush drops this node's whole cache: a lease ended whose keys the
// watcher did not keep (past natslease.Config.MaxAttachments or
// MaxLeases), or the watcher may have missed lease ends (id "").
func (w *Warp[T]) leaseFlush(string) {
	if w.closed.Load() {
		return
	}
	w.coord.leasesRevoked.Add(1)
	_ = w.dropAll(nil)
}

// coordErr is the error of a lease or lock call: one that the leases or
// locks refused as closed (Close closes them, so every call after Close
// is one) also wraps ErrClosed, as the instance's other calls do.
func coordErr(op string, err error) error {
	if errors.Is(err, natslease.ErrClosed) || errors.Is(err, natslock.ErrClosed) {
		return fmt.Errorf("warp: %s: %w: %w", op, ErrClosed, err)
	}
	return err
}

// GrantLease grants a lease that expires after ttl unless kept alive.
func (w *Warp[T]) GrantLease(ctx context.Context, ttl time.Duration) (natslease.Lease, error) {
	if w.leases == nil {
		return natslease.Lease{}, ErrNoCoordination
	}
	l, err := w.leases.Grant(ctx, ttl)
	if err == nil {
		w.coord.leasesGranted.Add(1)
	}
	return l, coordErr("grant lease", err)
}

// AttachLease attaches key to lease id: revoking or expiring the lease
// drops key's cached copies on every node.
func (w *Warp[T]) AttachLease(ctx context.Context, id, key string) error {
	if w.leases == nil {
		return ErrNoCoordination
	}
	if err := checkKey(key); err != nil {
		return err
	}
	return coordErr("attach lease", w.leases.Attach(ctx, id, key))
}

// KeepAliveLease extends lease id by ttl (0: its current TTL).
func (w *Warp[T]) KeepAliveLease(ctx context.Context, id string, ttl time.Duration) error {
	if w.leases == nil {
		return ErrNoCoordination
	}
	return coordErr("keep lease alive", w.leases.KeepAlive(ctx, id, ttl))
}

// RevokeLease ends lease id now: every node drops the attached keys.
func (w *Warp[T]) RevokeLease(ctx context.Context, id string) error {
	if w.leases == nil {
		return ErrNoCoordination
	}
	return coordErr("revoke lease", w.leases.Revoke(ctx, id))
}

// Lock waits for the distributed lock name, held for ttl unless refreshed
// (0: the locker's default). Pass the lock's Token to SetFenced.
func (w *Warp[T]) Lock(ctx context.Context, name string, ttl time.Duration) (*natslock.Lock, error) {
	if w.locks == nil {
		return nil, ErrNoCoordination
	}
	l, err := w.countLock(w.locks.Lock(ctx, name, ttl))
	return l, coordErr("lock", err)
}

// TryLock takes the lock name if it is free, else fails with
// natslock.ErrLocked.
func (w *Warp[T]) TryLock(ctx context.Context, name string, ttl time.Duration) (*natslock.Lock, error) {
	if w.locks == nil {
		return nil, ErrNoCoordination
	}
	l, err := w.countLock(w.locks.TryLock(ctx, name, ttl))
	return l, coordErr("try lock", err)
}

func (w *Warp[T]) countLock(l *natslock.Lock, err error) (*natslock.Lock, error) {
	switch {
	case err == nil:
		w.coord.locksAcquired.Add(1)
	case errors.Is(err, natslock.ErrLocked):
		w.coord.locksContended.Add(1)
	}
	return l, err
}

// SetFenced is Set with a lock's fencing token: the store rejects the
// write (an error wrapping store.ErrFenced) if it has already accepted a
// write with a larger token for key, so a holder that lost its lock cannot
// overwrite its successor's writes. Merge functions do not apply.
func (w *Warp[T]) SetFenced(ctx context.Context, key string, value T, token uint64) error {
	start := w.started()
	err := w.setWrite(ctx, key, value, store.Write{Fence: token})
	w.record("set", key, start, err)
	return err
}

// DeleteFenced deletes key from the store with a lock's fencing token, as
// SetFenced writes: the store refuses it (store.ErrFenced) if it has
// accepted a larger token for key, and keeps a tombstone, so an older
// write cannot bring the key back. Every node drops its copy, as the key's
// mode says for a Set (for a StrongDistributed key: fenced everywhere
// first, then deleted). A later Get finds ErrNotFound.
func (w *Warp[T]) DeleteFenced(ctx context.Context, key string, token uint64) error {
	start := w.started()
	err := w.deleteWrite(ctx, key, store.Write{Fence: token})
	w.record("delete", key, start, err)
	return err
}
