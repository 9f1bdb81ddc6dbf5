package api

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
)

// Get returns key's value: from this node's L1 cache when it holds a live
// copy, else from the store, installing what it loaded. Concurrent misses
// of one key share one load, but a miss never joins a load that began
// before a write or invalidation of the key it could have observed. A
// miss waits for the store until ctx ends, then fails with ctx's error. It
// fails with ErrUnregistered for a key no registration covers and
// ErrNotFound for a key the store lacks.
//
// Values are shared with the cache: do not modify a value Get returned.
func (w *Warp[T]) Get(ctx context.Context, key string) (T, error) {
	if err := w.check(ctx, key); err != nil {
		var zero T
		return zero, err
	}
	h := w.router.Hash(key)
	v := w.router.Shard(h)
	now := w.node.Now()
	epoch := w.table.Load().epoch
	// The hit path: the hot tier's set (one cache line) and the entry, no
	// actor round trip.
	if e := v.Hot(key, h); e != nil && e.Live(now) && e.Epoch == epoch && w.servable(key, e.Flags, now) {
		if e.Flags&flagCounted != 0 {
			w.stats.read(h)
		}
		if w.rec != nil {
			w.rec.Read(true)
		}
		return *e.Value.(*T), nil
	}
	start := w.started()
	out, hit, err := w.cached(key, h, v, now, epoch)
	if !hit {
		out, err = w.miss(ctx, key, h, v)
	}
	if w.rec != nil {
		if hit && err == nil {
			w.rec.Read(true) // a hit is counted, not timed
		} else {
			w.rec.Read(false)
			w.record("get", key, start, err)
		}
	}
	return out, err
}

// servable reports whether an entry of key with these flags may be served
// at now (the node clock's reading the caller took): a StrongDistributed
// or (flush-policy) EventualDistributed entry only while the node's
// coherence lease holds, a serve-stale one also for its registration's
// maxAge after the lease ended.
func (w *Warp[T]) servable(key string, flags uint8, now int64) bool {
	return flags&leaseMask == 0 || w.leaseValidAt(now) || flags&shard.FlagServeStale != 0 && w.servedStale(key, now)
}

// leaseMask is the entry flags that tie an entry to the coherence lease.
const leaseMask = shard.FlagStrong | shard.FlagLeased | shard.FlagServeStale

// servedStale reports whether a serve-stale entry of key may be served at
// now, without the lease: for the registration's maxAge after the lease
// ended. A copy may have missed every invalidation sent since then, so
// that bounds its staleness (plus the bus's own bound); past it, reads go
// to the store, as a flush-policy key's do for as long as the lease is
// gone. A node that never held its lease reads these keys from the store
// (its first flush then keeps what it cached meanwhile only until maxAge
// after its bus started: applier.Flush).
func (w *Warp[T]) servedStale(key string, now int64) bool {
	r, _, err := w.lookup(key)
	if err != nil || r.serveStale <= 0 {
		return false
	}
	end, held := w.leaseEnded()
	return held && now-end < int64(r.serveStale)
}

// leaseEnded returns when this node's coherence lease ends, or ended if it
// holds none (bus.Bus.LastLease), on the node clock; held is false if it
// never held one. A lease without end (math.MaxInt64) stays so. The bus
// must be started (busUp).
func (w *Warp[T]) leaseEnded() (end int64, held bool) {
	end = w.busUp.Load().LastLease()
	if w.leaseOffset > 0 && end > math.MaxInt64-w.leaseOffset {
		return math.MaxInt64, true
	}
	return end + w.leaseOffset, end > 0
}

// leaseFlags returns the entry flags that tie reg's entries to the
// coherence lease.
func leaseFlags(reg *registration) uint8 {
	switch {
	case reg.mode == ModeStrongDistributed:
		return shard.FlagStrong
	case reg.mode == ModeEventualDistributed && reg.serveStale <= 0:
		return shard.FlagLeased
	case reg.mode == ModeEventualDistributed:
		return shard.FlagServeStale
	}
	return 0
}

// leaseValid reports whether this node may serve StrongDistributed (and
// flush-policy EventualDistributed) keys from L1. Without a bus, the node
// is alone and always may.
func (w *Warp[T]) leaseValid() bool { return w.leaseValidAt(w.node.Now()) }

// leaseValidAt is leaseValid at now, a reading of the node clock: an
// atomic load, no second clock read.
func (w *Warp[T]) leaseValidAt(now int64) bool {
	return w.bus == nil || now-w.leaseOffset < w.bus.LeaseUntil()
}

// cached serves key from the shard's bigcache slice, if it holds a live,
// servable entry: hit reports whether it did (out and err are then the
// answer, a negative entry's ErrNotFound included).
func (w *Warp[T]) cached(key string, h uint64, v *shard.View, now int64, epoch uint32) (out T, hit bool, err error) {
	b, ok := v.Load(key)
	if !ok {
		return out, false, nil
	}
	hdr, val, err := shard.ParseHeader(b)
	if err != nil || !hdr.Live(now) || !w.servable(key, hdr.Flags, now) || hdr.Epoch != epoch && !w.stillRegistered(key, hdr) {
		return out, false, nil
	}
	out, err = w.hit(key, h, hdr, val, v)
	return out, true, err
}

// miss loads key from the store (once for all concurrent callers, except
// for StrongDistributed keys) and fills the cache.
//
// Callers share a load only if they read the same generation of the key's
// stripe before joining it: every write and invalidation moves the
// generation, so a caller never joins a load that began before a write or
// invalidation it could have observed (read-your-writes), and a load
// reads the store after every such write of the callers it serves.
func (w *Warp[T]) miss(ctx context.Context, key string, h uint64, v *shard.View) (T, error) {
	var zero T
	reg, epoch, err := w.lookup(key)
	if err != nil {
		return zero, err
	}
	if reg.mode == ModeStrongDistributed {
		// No coalescing: a caller joining a load that read the store
		// before a write completed would return the old value after it.
		// So the load is the caller's own, and ends with its context.
		return w.load(ctx, key, v, reg, epoch, v.Gen(h))
	}
	// At most maxLoadsPerKey generations of the key load at once: past
	// that, wait for one to end, then look again (it may have filled the
	// cache), at the stripe's generation then.
	for {
		wait := w.loadsInFlight.full(key, maxLoadsPerKey)
		if wait == nil {
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return zero, fmt.Errorf("warp: get %q: %w", key, ctx.Err())
		case <-w.loadCtx.Done():
			return zero, fmt.Errorf("warp: get %q: %w", key, ErrClosed)
		}
		if out, hit, err := w.cached(key, h, v, w.node.Now(), epoch); hit {
			return out, err
		}
	}
	gen := v.Gen(h)
	// fn is the shared load. owned: it runs on a goroutine of its own
	// (DoChan), which outlives the callers that give up; the instance owns
	// it, Close ends it (its callers then get ErrClosed) and waits for it,
	// and the shard's gate orders its start before Close's wait. Else it
	// runs on its first caller's goroutine, which waits for it anyway,
	// and ends only at its bound.
	fn := func(owned bool) func() (any, error) {
		return func() (any, error) {
			// A caller that missed just before another's load filled the
			// cache, and came here after that load ended, finds the fill.
			if out, hit, err := w.cached(key, h, v, w.node.Now(), epoch); hit {
				return out, err
			}
			w.loadsInFlight.begin(key)
			defer w.loadsInFlight.end(key)
			if !owned {
				return w.load(context.Background(), key, v, reg, epoch, gen)
			}
			if !v.Enter() {
				return zero, fmt.Errorf("warp: get %q: %w", key, ErrClosed)
			}
			w.sharedLoads.Add(1)
			v.Leave()
			defer w.sharedLoads.Done()
			return w.load(w.loadCtx, key, v, reg, epoch, gen)
		}
	}
	lk := loadKey(key, gen)
	if ctx.Done() == nil { // cannot be cancelled: wait in place, no goroutine
		out, err, _ := w.loads.Do(lk, fn(false))
		if err != nil {
			return zero, err
		}
		return out.(T), nil
	}
	ch := w.loads.DoChan(lk, fn(true))
	select {
	case res := <-ch:
		if res.Err != nil {
			return zero, res.Err
		}
		return res.Val.(T), nil
	case <-ctx.Done():
		return zero, fmt.Errorf("warp: get %q: %w", key, ctx.Err())
	}
}

// loadKey is the singleflight key of a load of key begun at stripe
// generation gen: the generation's 8 bytes, then the key (a fixed-width
// prefix, so no two pairs share a string).
func loadKey(key string, gen uint64) string {
	b := make([]byte, 8, 8+len(key))
	binary.LittleEndian.PutUint64(b, gen)
	return string(append(b, key...))
}

// stillRegistered reports whether an entry from an older registration epoch
// is still covered by a registration with the same mode.
func (w *Warp[T]) stillRegistered(key string, hdr shard.Header) bool {
	r, _, err := w.lookup(key)
	return err == nil && leaseFlags(r) == hdr.Flags&leaseMask
}

// hit serves a live entry read from the shard's cache and asks the shard to
// promote it to the hot tier.
func (w *Warp[T]) hit(key string, h uint64, hdr shard.Header, val []byte, v *shard.View) (T, error) {
	var zero T
	if hdr.Flags&shard.FlagNegative != 0 {
		return zero, fmt.Errorf("warp: get %q: %w", key, ErrNotFound)
	}
	out, err := w.codec.Decode(val)
	if err != nil {
		return zero, fmt.Errorf("%w: %w: decode %q: %w", ErrLoader, ErrCodec, key, err)
	}
	if hdr.Flags&flagCounted != 0 {
		w.stats.read(h)
	}
	w.promote(key, h, v)
	return out, nil
}

// load reads key from the store under parent, bounded by loadTimeout, and
// fills the cache with it, unless a write or invalidation of the key
// happened since generation gen was read. A shared load (parent is
// w.loadCtx) runs once for all concurrent misses of the key at gen,
// detached from any one caller's cancellation, and ends with Close.
func (w *Warp[T]) load(parent context.Context, key string, v *shard.View, reg *registration, epoch uint32, gen uint64) (out T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: load %q: panic: %v", ErrLoader, key, r)
		}
	}()
	ctx, cancel := context.WithTimeout(parent, loadTimeout)
	defer cancel()
	begun := w.node.Now()
	it, err := w.store.Get(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if reg.negTTL > 0 && w.cacheable(reg, begun) {
			// Served only under the lease, as any entry of the registration.
			hdr := shard.Header{Expiry: w.node.Now() + int64(reg.negTTL), Epoch: epoch, Flags: shard.FlagNegative | leaseFlags(reg)}
			w.fill(key, v, shard.AppendHeader(nil, hdr), gen)
		}
		return out, fmt.Errorf("warp: get %q: %w", key, ErrNotFound)
	case err != nil:
		if cerr := parent.Err(); cerr != nil { // not the store's failure
			if parent == w.loadCtx {
				cerr = ErrClosed
			}
			return out, fmt.Errorf("warp: get %q: %w", key, cerr)
		}
		return out, fmt.Errorf("%w: get %q: %w", ErrLoader, key, err)
	}
	w.node.HLC().Observe(it.Version)
	if !w.cacheable(reg, begun) {
		return it.Value, nil // not cached: see applier.Flush
	}
	entry, err := w.entry(key, reg, epoch, it.Value)
	if errors.Is(err, ErrTooLarge) {
		return it.Value, nil // too large to cache: served from the store every time
	}
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrLoader, err)
	}
	shard.PatchVersion(entry, it.Version)
	w.fill(key, v, entry, gen)
	return it.Value, nil
}

// loadTimeout bounds a store load, which outlives the callers that gave up
// waiting for it.
const loadTimeout = 30 * time.Second

func (w *Warp[T]) fill(key string, v *shard.View, entry []byte, gen uint64) {
	rep := w.router.Replies.Get()
	_, _ = w.request(v, &messages.Fill{Key: key, Entry: entry, Gen: gen, Reply: rep}, rep)
}

// entry encodes value behind a header for key (version 0: the caller sets
// it once the store has assigned one).
func (w *Warp[T]) entry(key string, reg *registration, epoch uint32, value T) ([]byte, error) {
	return w.appendEntry(nil, key, reg, epoch, value)
}

// appendEntry is entry, built in dst's spare capacity.
func (w *Warp[T]) appendEntry(dst []byte, key string, reg *registration, epoch uint32, value T) ([]byte, error) {
	return w.appendEntryAt(dst, key, reg, epoch, value, w.node.Now())
}

// appendEntryAt is appendEntry at now, a reading of the node clock.
func (w *Warp[T]) appendEntryAt(dst []byte, key string, reg *registration, epoch uint32, value T, now int64) ([]byte, error) {
	if cap(dst) < shard.HeaderSize+64 {
		dst = make([]byte, 0, shard.HeaderSize+64)
	}
	// The header's room; AppendHeader below fills it.
	buf, err := w.codec.Append(dst[:shard.HeaderSize], value)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %q: %w", ErrCodec, key, err)
	}
	if n := len(buf) - shard.HeaderSize; n > w.maxValue {
		return nil, fmt.Errorf("%w: %q: %d bytes > %d", ErrTooLarge, key, n, w.maxValue)
	}
	flags := leaseFlags(reg)
	if reg.strategy != nil {
		flags |= flagCounted
	}
	hdr := shard.Header{Expiry: now + int64(w.ttlFor(reg, key)), Epoch: epoch, Flags: flags}
	shard.AppendHeader(buf[:0], hdr)
	return buf, nil
}

// promote asks the shard to put key in its hot tier: always when the key's
// set has an empty way, else for one read in promoteEvery, so that cold
// keys sharing a set do not keep replacing each other while a key read
// often still gets in soon.
func (w *Warp[T]) promote(key string, h uint64, v *shard.View) {
	if !v.HotEnabled() || (v.HotFull(h) && rand.Uint32()%promoteEvery != 0) {
		return
	}
	if v.Enter() {
		w.router.Send(v, &messages.Promote{Key: key})
		v.Leave()
	}
}

const promoteEvery = 8

// cacheable reports whether a value of a key of reg that the store read
// begun at begun (a node-clock reading taken before the read) may be
// cached now: a StrongDistributed key not while the node's lease is
// invalid, nor if the read began before the end of the grace period after
// the last repair flush (see applier.Flush): a read begun inside it may
// have missed a write whose fence this node did not see, even if it ends
// after the grace period.
func (w *Warp[T]) cacheable(reg *registration, begun int64) bool {
	if reg.mode != ModeStrongDistributed {
		return true
	}
	return w.leaseValid() && begun >= w.strongGrace.Load()
}
