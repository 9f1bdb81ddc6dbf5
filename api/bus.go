package api

import (
	"context"
	"fmt"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/internal/pattern"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
)

// WithBus joins the instance to a cluster over a bus: cfg.Cluster and
// cfg.Transport (for example natsbus.Dial or natsbus.FromConn) are
// required; NodeID defaults to the node's id and Logger to the node's;
// Warp sets the Applier. Without a bus, the instance is a single node and
// the distributed modes behave like ModeStrongLocal.
func WithBus[T any](cfg bus.Config) Option[T] {
	return func(o *options[T]) error {
		if cfg.Transport == nil || cfg.Cluster == "" {
			return fmt.Errorf("%w: bus needs a Cluster and a Transport", ErrConfig)
		}
		o.bus = &cfg
		return nil
	}
}

// WithFenceTTL sets how long a StrongDistributed write's fence keeps a
// node from re-caching older versions of the key. It must outlast a store
// load (30 s); default 60 s.
func WithFenceTTL[T any](d time.Duration) Option[T] {
	return func(o *options[T]) error {
		if d <= loadTimeout {
			return fmt.Errorf("%w: fence TTL %v must exceed the load timeout %v", ErrConfig, d, loadTimeout)
		}
		o.fenceTTL = d
		return nil
	}
}

const defaultFenceTTL = time.Minute

// graceFor is how long after a repair flush strong keys are not cached:
// the longest a strong write may take from its fence to its store write.
func graceFor(cfg bus.Config) time.Duration {
	st := cfg.StrongTimeout
	if st == 0 {
		st = 2 * time.Second
	}
	return 2 * st
}

// startBus starts the bus and the goroutine that forwards its errors.
func (w *Warp[T]) startBus(cfg bus.Config) error {
	if cfg.NodeID == "" {
		cfg.NodeID = w.node.ID()
	}
	if cfg.Logger == nil {
		cfg.Logger = w.node.Logger()
	}
	cfg.Applier = applier[T]{w}
	w.graceTTL = graceFor(cfg)
	b, err := bus.New(w.node.System(), cfg)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	w.bus = b
	w.busDone = make(chan struct{})
	go func() {
		defer close(w.busDone)
		for err := range b.Errors() { // closed by b.Close
			w.report(err)
		}
	}()
	return nil
}

// Bus returns the instance's bus, nil for a single node.
func (w *Warp[T]) Bus() *bus.Bus { return w.bus }

// applier applies other nodes' events to this node's shards.
type applier[T any] struct{ w *Warp[T] }

// Invalidate drops key's copy if older than v. For a StrongDistributed key,
// v is a write's fence token: it fences the key (no caching) until the
// token comes back with releaseBit set, or expires (see setStrong).
func (a applier[T]) Invalidate(_ context.Context, key string, v merge.Version) error {
	w := a.w
	if checkKey(key) != nil {
		return nil // no key Warp accepts: nothing of it is cached
	}
	h := w.router.Hash(key)
	sh := w.router.Shard(h)
	rep := w.router.Replies.Get()
	var msg any = &messages.Invalidate{Key: key, Version: v, Reply: rep}
	r, _, err := w.lookup(key)
	release := false
	if v&fenceBit != 0 || err == nil && r.mode == ModeStrongDistributed && v != 0 {
		release = v&releaseBit != 0
		v &^= releaseBit | fenceBit
		msg = w.fenceMsg(key, v, release, rep)
	} else {
		w.node.HLC().Observe(v)
		if w.rec != nil && v != 0 {
			w.rec.ApplyLag(time.Since(v.Time()))
		}
	}
	if _, err = w.request(sh, msg, rep); err != nil {
		return err
	}
	if !release {
		w.invalidated(Invalidation{Key: key, Version: v})
	}
	return nil
}

// InvalidatePrefix drops every cached key with the prefix.
func (a applier[T]) InvalidatePrefix(_ context.Context, prefix string) error {
	err := a.w.router.Each(func(_ int, rep *messages.Reply) any {
		return &messages.InvalidatePrefix{Prefix: prefix, Reply: rep}
	})
	if err == nil {
		a.w.invalidated(Invalidation{Key: prefix, Prefix: true})
	}
	return err
}

// Flush drops every cached entry: the repair of a gap that cannot be
// bounded, a reconnect or a lapsed lease. After it, StrongDistributed keys
// are not cached for a grace period: a strong write that counted this node
// as lapsed may still be in flight, and this node missed its fence.
func (a applier[T]) Flush(context.Context) error {
	w := a.w
	now := w.node.Now()
	w.strongGrace.Store(now + int64(w.graceTTL))
	keep := func(key string) (int64, bool) {
		r, _, err := w.lookup(key)
		if err != nil || r.serveStale <= 0 {
			return 0, false
		}
		return now + int64(r.serveStale), true
	}
	if !w.anyServeStale() {
		keep = nil
	}
	err := w.router.Each(func(_ int, rep *messages.Reply) any { return &messages.Flush{Keep: keep, Reply: rep} })
	if err == nil {
		w.invalidated(Invalidation{Prefix: true})
	}
	return err
}

// invalidated tells the invalidation listener, if any, about ev.
func (w *Warp[T]) invalidated(ev Invalidation) {
	if w.onInval != nil {
		w.onInval(ev)
	}
}

// propagate tells other nodes about a write or invalidation at ver (0: an
// invalidation with no version, applied unconditionally).
func (w *Warp[T]) propagate(key string, reg *registration, ver merge.Version) {
	if w.bus != nil && reg.mode != ModeStrongLocal {
		w.bus.Publish(key, ver)
	}
}

// releaseBit marks the second broadcast of a strong write: the release of
// its fence token.
const releaseBit merge.Version = 1 << 63

func (w *Warp[T]) fenceMsg(key string, token merge.Version, release bool, rep *messages.Reply) *messages.Fence {
	return &messages.Fence{Key: key, Token: token, Until: w.node.Now() + int64(w.fenceTTL), Release: release, Reply: rep}
}

// setStrong writes a StrongDistributed key in three steps:
//
//  1. fence: this node and every live peer (the bus waits for each to ack
//     or provably lose its coherence lease, and for the quorum) drop the
//     key and stop caching it while the write's token v0 is held;
//  2. write the store at a version ≥ v0;
//  3. release the token everywhere, asynchronously.
//
// Between 1 and 3 every read of the key on every node goes to the store, so
// from the moment the new value can be read anywhere, no node can serve the
// old one: reads stay linearizable, which the porcupine check in
// cluster_test.go verifies. A fence that is not acknowledged in time fails
// Set with ErrQuorum and the store is not written. The writer does not
// install its own value; its next read loads it.
func (w *Warp[T]) setStrong(ctx context.Context, key string, reg *registration, write func(ctx context.Context, min merge.Version) error) error {
	h := w.router.Hash(key)
	v := w.router.Shard(h)
	cur, err := w.store.Version(ctx, key)
	if err != nil {
		return fmt.Errorf("warp: set %q: %w", key, err)
	}
	v0 := max(w.node.HLC().Now(), cur+1) &^ releaseBit
	start := w.node.Now()
	defer w.release(key, v, v0)
	if err := w.fence(ctx, key, reg, v, v0); err != nil {
		return err
	}
	// The store write must end while a peer that regained its lease after
	// missing the fence still refuses to cache the key (the grace period).
	wctx, cancel := context.WithDeadline(ctx, time.Now().Add(w.graceTTL-time.Duration(w.node.Now()-start)))
	defer cancel()
	if err := write(wctx, v0); err != nil {
		return err
	}
	return nil
}

// fence holds token v0 on key on this node, then on every peer.
func (w *Warp[T]) fence(ctx context.Context, key string, reg *registration, v *shard.View, v0 merge.Version) error {
	rep := w.router.Replies.Get()
	if _, err := w.request(v, w.fenceMsg(key, v0, false, rep), rep); err != nil {
		return fmt.Errorf("warp: %q: fence: %w", key, err)
	}
	if w.bus == nil {
		return nil
	}
	acked, err := w.bus.PublishStrong(ctx, key, v0, reg.quorum)
	if err != nil {
		return fmt.Errorf("%w: %q: %d peers acked (quorum %d); the store was not written: %w", ErrQuorum, key, acked, reg.quorum, err)
	}
	return nil
}

// release gives token v0 back on this node and, asynchronously, on every
// peer; a peer that misses it releases the token when it expires.
func (w *Warp[T]) release(key string, v *shard.View, v0 merge.Version) {
	rep := w.router.Replies.Get()
	_, _ = w.request(v, w.fenceMsg(key, v0, true, rep), rep)
	if w.bus != nil {
		w.bus.Publish(key, v0|releaseBit)
	}
}

// anyServeStale reports whether some registration uses the serve-stale
// repair policy.
func (w *Warp[T]) anyServeStale() bool {
	found := false
	w.table.Load().t.All(func(_ pattern.Pattern, r *registration) { found = found || r.serveStale > 0 })
	return found
}
