package api

import (
	"fmt"
	"time"

	"github.com/warpcache/warp/internal/pattern"
)

// registration is one row of the registration table. Rows are immutable;
// changing one publishes a new table.
type registration struct {
	pat      pattern.Pattern
	mode     Mode
	ttl      time.Duration
	strategy TTLStrategy // nil: fixed ttl
	negTTL   time.Duration
	jitter   float64
	quorum   int
	// serveStale > 0: after a bus repair, keep cached copies for at most
	// this long instead of dropping them.
	serveStale time.Duration
}

// table is the registration table as readers see it. epoch changes with
// every registration change; cache entries carry the epoch they were
// resolved under, so a hit from the current epoch needs no lookup.
type table struct {
	t     *pattern.Table[*registration]
	epoch uint32
}

// RegisterOption adjusts a registration.
type RegisterOption func(*registration) error

// WithNegativeTTL caches "not found" for d, so repeated misses of a key the
// store lacks do not reach the store. Default: misses are not cached.
func WithNegativeTTL(d time.Duration) RegisterOption {
	return func(r *registration) error {
		if d <= 0 {
			return fmt.Errorf("%w: negative-cache TTL %v", ErrInvalidTTL, d)
		}
		r.negTTL = d
		return nil
	}
}

// WithJitter spreads expiries: each entry's TTL is multiplied by a random
// factor in [1-f, 1+f], so keys loaded together do not expire together.
func WithJitter(f float64) RegisterOption {
	return func(r *registration) error {
		if f < 0 || f >= 1 {
			return fmt.Errorf("%w: jitter %v not in [0, 1)", ErrConfig, f)
		}
		r.jitter = f
		return nil
	}
}

// WithServeStale chooses the serve-stale repair policy: when the bus cannot
// tell which invalidations this node missed (a reconnect, a gap it cannot
// bound) it normally drops every cached entry, and serves none while it
// holds no coherence lease (the flush policy, the default). Keys of this
// registration are served without the lease, and kept through the flush,
// for at most maxAge after the lease ended (after the flush, if the lease
// held until then; after the bus started, if it never held one); past
// it, reads go to the store and the flush drops them. A reader can
// therefore see a value stale by at most maxAge plus the bus's staleness
// bound (docs/best-practices.md, which also says when a peer's flush
// broadcast adds to it). Not allowed for ModeStrongDistributed.
func WithServeStale(maxAge time.Duration) RegisterOption {
	return func(r *registration) error {
		if maxAge <= 0 {
			return fmt.Errorf("%w: serve-stale age %v", ErrInvalidTTL, maxAge)
		}
		r.serveStale = maxAge
		return nil
	}
}

// Register registers an exact key ("user:42") or a pattern ("user:*") with
// a consistency mode and a TTL. Exact keys beat patterns, and longer
// patterns beat shorter ones. Registering an existing key or pattern again
// with the same mode replaces its TTL and options; with another mode it
// fails with ErrConflict.
func (w *Warp[T]) Register(key string, mode Mode, ttl time.Duration, opts ...RegisterOption) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: %v for %q", ErrInvalidTTL, ttl, key)
	}
	return w.register(key, mode, &registration{ttl: ttl}, opts)
}

// RegisterDynamicTTL registers key like Register, with a TTL that strat
// computes from the key's read and write rates each time its entry is
// installed; see [AdaptiveTTL].
func (w *Warp[T]) RegisterDynamicTTL(key string, mode Mode, strat TTLStrategy, opts ...RegisterOption) error {
	if strat == nil {
		return fmt.Errorf("%w: nil TTL strategy for %q", ErrConfig, key)
	}
	return w.register(key, mode, &registration{strategy: strat}, opts)
}

func (w *Warp[T]) register(key string, mode Mode, r *registration, opts []RegisterOption) error {
	if w.closed.Load() {
		return fmt.Errorf("warp: register %q: %w", key, ErrClosed)
	}
	if !mode.valid() {
		return fmt.Errorf("%w: mode %v", ErrConfig, mode)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes > %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	p, err := pattern.Parse(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPattern, err)
	}
	r.pat, r.mode = p, mode
	for _, o := range opts {
		if err := o(r); err != nil {
			return err
		}
	}
	if r.serveStale > 0 && mode == ModeStrongDistributed {
		return fmt.Errorf("%w: %q: serve-stale cannot apply to %v", ErrConflict, key, mode)
	}
	if mode == ModeStrongDistributed && w.bus != nil && !w.anchored {
		return fmt.Errorf("%w: %q: %v needs the cluster's membership anchored in a linearizable service, and this bus has none "+
			"(the store does not implement store.Membership and bus.Config.Membership is nil): without it, a partitioned node "+
			"would count itself alone and write unacknowledged", ErrConfig, key, mode)
	}
	w.regMu.Lock()
	defer w.regMu.Unlock()
	cur := w.table.Load()
	if old, ok := cur.t.Get(p); ok {
		if old.mode != mode {
			return fmt.Errorf("%w: %q is registered as %v, not %v", ErrConflict, key, old.mode, mode)
		}
		r.quorum = old.quorum
	}
	w.table.Store(&table{t: cur.t.With(p, r), epoch: cur.epoch + 1})
	return nil
}

// Unregister removes a key or pattern registration. Keys it covered (and no
// other registration covers) fail with ErrUnregistered from then on.
func (w *Warp[T]) Unregister(key string) error {
	if w.closed.Load() {
		return fmt.Errorf("warp: unregister %q: %w", key, ErrClosed)
	}
	p, err := pattern.Parse(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPattern, err)
	}
	w.regMu.Lock()
	defer w.regMu.Unlock()
	cur := w.table.Load()
	if _, ok := cur.t.Get(p); !ok {
		return fmt.Errorf("warp: unregister %q: %w", key, ErrUnregistered)
	}
	w.table.Store(&table{t: cur.t.Without(p), epoch: cur.epoch + 1})
	return nil
}

// SetQuorum sets the availability floor of a StrongDistributed
// registration: a write must be acknowledged by at least replicas distinct
// peers (never the writer itself), besides every live peer having applied
// it or lost its coherence lease.
func (w *Warp[T]) SetQuorum(key string, replicas int) error {
	if w.closed.Load() {
		return fmt.Errorf("warp: set quorum %q: %w", key, ErrClosed)
	}
	if replicas < 0 {
		return fmt.Errorf("%w: quorum %d", ErrConfig, replicas)
	}
	p, err := pattern.Parse(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPattern, err)
	}
	w.regMu.Lock()
	defer w.regMu.Unlock()
	cur := w.table.Load()
	old, ok := cur.t.Get(p)
	if !ok {
		return fmt.Errorf("warp: set quorum %q: %w", key, ErrUnregistered)
	}
	if old.mode != ModeStrongDistributed {
		return fmt.Errorf("%w: %q is %v; a quorum applies to %v", ErrConflict, key, old.mode, ModeStrongDistributed)
	}
	r := *old
	r.quorum = replicas
	w.table.Store(&table{t: cur.t.With(p, &r), epoch: cur.epoch + 1})
	return nil
}

// lookup resolves key to its registration.
func (w *Warp[T]) lookup(key string) (*registration, uint32, error) {
	t := w.table.Load()
	r, ok := t.t.Lookup(key)
	if !ok {
		return nil, 0, fmt.Errorf("warp: %q: %w", key, ErrUnregistered)
	}
	return r, t.epoch, nil
}

// checkKey validates a key.
func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes > %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	return nil
}
