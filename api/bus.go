package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/internal/pattern"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
)

// WithBus joins the instance to a cluster over a bus: cfg.Cluster and
// cfg.Transport (for example natsbus.Dial or natsbus.FromConn) are
// required; NodeID defaults to the node's id and Logger to the node's;
// Warp sets the Applier. The cluster's membership is anchored in the store
// when it implements store.Membership (every adapter of this module does)
// and cfg.Membership is nil: New then joins it, which needs the store. A
// bus without a membership serves only eventual keys: registering a
// ModeStrongDistributed key fails with ErrConfig. Without a bus, the
// instance is a single node and the distributed modes behave like
// ModeStrongLocal. cfg.Now must be nil: a cache hit checks the bus's lease
// against the node's monotonic clock, so the bus must measure with the same
// one. The instance owns cfg.Transport: Close closes it, and so does New
// when it fails.
func WithBus[T any](cfg bus.Config) Option[T] {
	return func(o *options[T]) error {
		o.bus = &cfg // New owns the transport from here: it closes it if New fails
		if cfg.Transport == nil || cfg.Cluster == "" {
			return fmt.Errorf("%w: bus needs a Cluster and a Transport", ErrConfig)
		}
		if cfg.Now != nil {
			return fmt.Errorf("%w: bus Config.Now must be nil: a hit checks the bus's lease on the node's own clock", ErrConfig)
		}
		return nil
	}
}

// WithFenceTTL sets how long a StrongDistributed write's fence keeps a
// node from re-caching older versions of the key. It must outlast a store
// load (30 s) and a strong write's bound (2 × the bus's StrongTimeout,
// within its MaxClockDrift; New checks it with the bus's Config); default
// 60 s.
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
// the longest a strong write may take from its fence to its store write
// (2 × StrongTimeout, which writeBound keeps within), then one lease more.
// A write whose store call ended without an outcome makes its writer stop
// lending leases (settleLater) by the end of the first part, so a lease
// this node holds after the second rests on answers given after that: it
// holds one only once every such write is settled. cfg has its defaults
// (bus.Config.WithDefaults).
func graceFor(cfg bus.Config) time.Duration {
	d := cfg.MaxClockDrift
	return 2*cfg.StrongTimeout + time.Duration(float64(cfg.LeaseDuration)*(1+d)/(1-d))
}

// writeBound is how long after it started a strong write's store write
// may end, on this node's clock: within the first part of the grace
// period (graceFor) a peer keeps on its own clock after missing the
// write's fence, whatever the clocks' rates (within MaxClockDrift) and
// with LeaseMargin to spare. cfg has its defaults.
func writeBound(cfg bus.Config) time.Duration {
	d := cfg.MaxClockDrift
	return time.Duration(float64(2*cfg.StrongTimeout)*(1-d)/(1+d)) - cfg.LeaseMargin
}

// setTimings sizes the strong-write grace and bound from cfg's timing
// (its unset fields take the bus's defaults).
func (w *Warp[T]) setTimings(cfg bus.Config) {
	cfg = cfg.WithDefaults()
	w.graceTTL, w.writeBound = graceFor(cfg), writeBound(cfg)
}

// checkFenceTTL refuses a fence TTL that a strong write's store write may
// outlast: a peer's fence, counted on the peer's clock from when it took
// it, must last past the write's bound, counted on the writer's clock
// from the write's start, whatever the clocks' rates (within
// MaxClockDrift), with LeaseMargin to spare. A fence that expired first
// would let the peer, still holding its lease, load and cache the old
// value while the write lands. cfg has its defaults.
func (w *Warp[T]) checkFenceTTL(cfg bus.Config) error {
	d := cfg.MaxClockDrift
	if lasts := time.Duration(float64(w.fenceTTL) * (1 - d) / (1 + d)); lasts <= w.writeBound+cfg.LeaseMargin {
		return fmt.Errorf("%w: fence TTL %v (at least %v on a peer's clock) does not outlast a strong write's bound %v (from StrongTimeout %v): raise WithFenceTTL or lower StrongTimeout",
			ErrConfig, w.fenceTTL, lasts, w.writeBound+cfg.LeaseMargin, cfg.StrongTimeout)
	}
	return nil
}

// startBus starts the bus and the goroutine that forwards its errors.
func (w *Warp[T]) startBus(cfg bus.Config) error {
	if cfg.NodeID == "" {
		cfg.NodeID = w.node.ID()
	}
	if cfg.Logger == nil {
		cfg.Logger = w.node.Logger()
	}
	if m, ok := w.store.(store.Membership); ok && cfg.Membership == nil {
		cfg.Membership = storeMembership{m: m, cluster: cfg.Cluster}
	}
	cfg.Applier = applier[T]{w}
	w.setTimings(cfg)
	if err := w.checkFenceTTL(cfg.WithDefaults()); err != nil {
		return err
	}
	w.cluster = cfg.Cluster
	w.anchored = cfg.Membership != nil
	b, err := bus.New(w.node.System(), cfg)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	w.bus = b
	w.leaseOffset = int64(b.Base().Sub(w.node.Start()))
	w.busUp.Store(b)
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

// Invalidate drops key's copy if older than v. A version further ahead of
// this node's clock than it accepts (see actors.Config.MaxClockAhead) is
// not observed: the copy is dropped whatever its version, and the bus is
// told (bus.ErrAhead).
func (a applier[T]) Invalidate(_ context.Context, key string, v merge.Version) error {
	w := a.w
	if checkKey(key) != nil {
		return nil // no key Warp accepts: nothing of it is cached
	}
	ahead := !w.node.HLC().Observe(v)
	if ahead {
		v = 0
	}
	if w.rec != nil && v != 0 {
		w.rec.ApplyLag(time.Since(v.Time()))
	}
	v0 := w.router.Shard(w.router.Hash(key))
	rep := w.router.Replies.Get()
	if _, err := w.request(v0, &messages.Invalidate{Key: key, Version: v, Reply: rep}, rep); err != nil {
		return err
	}
	w.invalidated(Invalidation{Key: key, Version: v})
	if ahead {
		return fmt.Errorf("warp: invalidate %q: %w", key, bus.ErrAhead)
	}
	return nil
}

// Fence drops key and keeps it out of the cache until token is released
// or the fence expires (WithFenceTTL): the first step of another node's
// strong write or transaction. The token is not observed on this node's
// clock, only compared with the release's, so a token further ahead of
// the clock than it accepts (a writer's clock ahead, or this one's behind)
// fences the key all the same: refused, it would fail every strong write
// of the writer for as long as the clocks disagree
// (TestStrongWritesWithANodeClockBehind).
func (a applier[T]) Fence(_ context.Context, key string, token merge.Version) error {
	w := a.w
	if checkKey(key) != nil {
		return nil
	}
	v := w.router.Shard(w.router.Hash(key))
	rep := w.router.Replies.Get()
	if _, err := w.request(v, w.fenceMsg(key, token, false, rep), rep); err != nil {
		return err
	}
	w.invalidated(Invalidation{Key: key, Version: token})
	return nil
}

// Release gives another node's fence token back.
func (a applier[T]) Release(_ context.Context, key string, token merge.Version) error {
	w := a.w
	if checkKey(key) != nil {
		return nil
	}
	v := w.router.Shard(w.router.Hash(key))
	rep := w.router.Replies.Get()
	_, err := w.request(v, w.fenceMsg(key, token, true, rep), rep)
	return err
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
// bounded, a reconnect, dropped messages or a lost membership. After it,
// StrongDistributed keys are not cached for a grace period: a strong write
// that counted this node as lapsed may still be in flight, and this node
// missed its fence.
//
// Serve-stale entries are kept for their registration's maxAge, counted
// from when this node's lease ended if it had (it may have missed every
// invalidation sent since), from the bus's start if it never held one
// (the join's flush: entries filled before it may be that old), else from
// now: after a cut longer than maxAge, none is kept.
func (a applier[T]) Flush(context.Context) error {
	w := a.w
	now := w.node.Now()
	w.strongGrace.Store(now + int64(w.graceTTL))
	from := now
	if w.busUp.Load() != nil { // nil: a flush inside New, before any fill
		if end, held := w.leaseEnded(); !held {
			from = w.leaseOffset // the bus's start, on the node clock
		} else if end < now {
			from = end
		}
	}
	keep := func(key string) (int64, bool) {
		r, _, err := w.lookup(key)
		if err != nil || r.serveStale <= 0 || now-from >= int64(r.serveStale) {
			return 0, false
		}
		return from + int64(r.serveStale), true
	}
	if !w.anyServeStale() {
		keep = nil
	}
	return w.dropAll(keep)
}

// dropAll drops every cached entry (but those keep keeps, if not nil) on
// every shard, and tells the invalidation listener.
func (w *Warp[T]) dropAll(keep func(key string) (int64, bool)) error {
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

func (w *Warp[T]) fenceMsg(key string, token merge.Version, release bool, rep *messages.Reply) *messages.Fence {
	return &messages.Fence{Key: key, Token: token, Until: w.node.Now() + int64(w.fenceTTL), Release: release, Reply: rep}
}

// setStrong writes a StrongDistributed key in three steps:
//
//  1. fence: this node and every member of the cluster (the bus waits for
//     each to ack or provably stop serving, and for the quorum) drop the
//     key and stop caching it while the write's token v0 is held;
//  2. write the store at a version ≥ v0, guarded by this node's
//     membership: once this node is out of the membership, the store
//     refuses the write, so a write held up by a pause or a partition
//     cannot land after the others stopped waiting for this node;
//  3. release the token everywhere, asynchronously.
//
// Between 1 and 3 every read of the key on every node goes to the store, so
// from the moment the new value can be read anywhere, no node can serve the
// old one: reads stay linearizable, which the porcupine checks in
// cluster_test.go and the chaos suite verify. A fence that is not
// acknowledged in time, or a node that is not a member, fails Set with
// ErrQuorum and the store is not written. The writer does not install its
// own value; its next read loads it.
func (w *Warp[T]) setStrong(ctx context.Context, op, key string, reg *registration, write func(ctx context.Context, min merge.Version, g store.Guard) error) error {
	h := w.router.Hash(key)
	v := w.router.Shard(h)
	guard, err := w.guard(op, key)
	if err != nil {
		return err
	}
	start := w.node.Now()
	cur, err := w.store.Version(ctx, key)
	if err != nil {
		return fmt.Errorf("warp: %s %q: %w", op, key, err)
	}
	v0 := max(w.node.HLC().Now(), cur+1)
	if !v0.Valid() {
		return fmt.Errorf("%w: %s %q: version %d above %d", ErrConflict, op, key, v0, merge.MaxVersion)
	}
	if err := w.fence(ctx, key, reg, v, v0); err != nil {
		w.release(key, v, v0)
		return err
	}
	// The store write must end while a peer that regained its lease after
	// missing the fence still refuses to cache the key (its grace period),
	// measured from before the fence. It does not end with ctx: a caller
	// that gives up would leave its outcome open, which costs the cluster
	// a resignation (settleLater); the write goes on, within its bound,
	// and its end releases the fences or settles it.
	wctx, cancel := w.strongWriteCtx(ctx, start)
	run := func() error {
		defer cancel()
		err := write(wctx, v0, guard)
		if err != nil && mayLandLate(err) {
			w.settleLater(guard) // the fences stay on until they expire
		} else {
			w.release(key, v, v0)
		}
		return err
	}
	return guardedStoreErr(w.detached(ctx, v, op, key, run, func() error {
		cancel()
		w.release(key, v, v0)
		return ErrClosed
	}))
}

// strongWriteCtx is the context of a strong write's store write, begun
// (a node-clock reading) before its fence: ctx's values, not its
// cancellation (detached), ending writeBound after begun.
func (w *Warp[T]) strongWriteCtx(ctx context.Context, begun int64) (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.WithoutCancel(ctx), time.Now().Add(w.writeBound-time.Duration(w.node.Now()-begun)))
}

// detached runs run, a strong write's store write and what follows it, so
// that ctx ending first does not cut it short: in place when ctx cannot
// end, else on a goroutine the instance owns (Close waits for it),
// returning ctx's error, naming op and key (if any), as soon as ctx ends.
// If the instance is closing, it runs closed instead (v is a shard of the
// write's: its gate orders the goroutine's start before Close's wait).
func (w *Warp[T]) detached(ctx context.Context, v *shard.View, op, key string, run, closed func() error) error {
	if ctx.Done() == nil { // cannot be cancelled: wait in place, no goroutine
		return run()
	}
	if !v.Enter() {
		return closed()
	}
	w.strongWrites.Add(1)
	v.Leave()
	done := make(chan error, 1)
	go func() {
		defer w.strongWrites.Done()
		done <- run()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		what := op
		if key != "" {
			what = fmt.Sprintf("%s %q", op, key)
		}
		return fmt.Errorf("warp: %s: %w (the store write goes on, within its bound: its outcome is unknown to this call)", what, ctx.Err())
	}
}

// settleLater settles a strong write guarded by g whose outcome the store
// left open: this node gives up the membership record g names
// (bus.Bus.Resign), after which the store refuses the write if it has not
// applied it, and rejoins. Until the record is gone no node holds a lease,
// so none caches a strong key.
func (w *Warp[T]) settleLater(g store.Guard) {
	if w.bus != nil && w.anchored && g.Incarnation != 0 {
		w.bus.Resign(g.Incarnation)
	}
}

// mayLandLate reports whether a strong write's store error leaves its
// outcome open: the store may apply the write after the writer gave up (a
// statement the server ran after its client's deadline, a COMMIT without
// a reply). Its fences then stay on, here and on every member that holds
// them, until they expire (WithFenceTTL), instead of being released: a
// node that cached the key's value now would serve it after the write
// landed. And the writer settles it (settleLater). docs/syncbus.md, "A
// write that may land late".
func mayLandLate(err error) bool { return !notApplied(err) && !errors.Is(err, ErrQuorum) }

// guard returns the membership guard of a distributed write (op "set",
// "delete" or "commit") of key: this node's record, or ErrQuorum if it
// holds none now.
func (w *Warp[T]) guard(op, key string) (store.Guard, error) {
	if w.bus == nil || !w.anchored {
		return store.Guard{}, nil
	}
	epoch, ok := w.bus.Member()
	if !ok {
		return store.Guard{}, fmt.Errorf("%w: %s %q: this node is not a member of the cluster now (cut off, or expelled and rejoining); the store was not written", ErrQuorum, op, key)
	}
	return store.Guard{Cluster: w.cluster, Node: w.bus.NodeID(), Incarnation: epoch}, nil
}

// eventualGuard returns the membership guard of a write of key under reg
// that is not strong (setStrong takes its own): for an EventualDistributed
// key, as for a strong write, once this node is out of the membership the
// others serve without waiting for its word, so its writes must stop
// landing, or they would stay stale there; none for a StrongLocal key.
func (w *Warp[T]) eventualGuard(op, key string, reg *registration) (store.Guard, error) {
	if reg.mode != ModeEventualDistributed {
		return store.Guard{}, nil
	}
	return w.guard(op, key)
}

// guardedStoreErr wraps the error of a guarded store write (strong or
// eventual, plain or merged): a store that refused it for the membership
// guard wrote nothing, which ErrQuorum says. Each write path calls it once,
// on its outermost error.
func guardedStoreErr(err error) error {
	if errors.Is(err, store.ErrNotMember) {
		return fmt.Errorf("%w: the store refused the write, this node is no longer a member of the cluster: %w", ErrQuorum, err)
	}
	return err
}

// fence holds token v0 on key on this node, then on every member.
func (w *Warp[T]) fence(ctx context.Context, key string, reg *registration, v *shard.View, v0 merge.Version) error {
	rep := w.router.Replies.Get()
	if _, err := w.request(v, w.fenceMsg(key, v0, false, rep), rep); err != nil {
		return fmt.Errorf("warp: %q: fence: %w", key, err)
	}
	if w.bus == nil {
		return nil
	}
	acked, err := w.bus.PublishFence(ctx, key, v0, reg.quorum)
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
		w.bus.PublishRelease(key, v0)
	}
}

// anyServeStale reports whether some registration uses the serve-stale
// repair policy.
func (w *Warp[T]) anyServeStale() bool {
	found := false
	w.table.Load().t.All(func(_ pattern.Pattern, r *registration) { found = found || r.serveStale > 0 })
	return found
}
