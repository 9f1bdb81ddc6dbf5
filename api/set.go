package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
)

// Set writes value to the store, then installs it in this node's cache, so
// the writer reads its own write; in distributed modes, it then tells the
// other nodes (see [Mode]). If a merge function is registered for key, the
// stored value is the merge of the current value and value.
//
// Input that Warp rejects (bad key, unregistered key, oversized value,
// ended context) changes nothing. If the store itself fails, the write may
// or may not have been applied (as with any remote store); Set then drops
// this node's cached copy (and, for an EventualDistributed key, tells the
// other nodes to drop theirs) so the next read reloads the store's value.
// A write whose outcome is unknown (a lost connection) may still land
// after such a reload: the copies loaded before it then stay old until
// their TTL or the key's next write or invalidation. For a
// StrongDistributed key, the store write does not end with ctx: if ctx
// ends first, Set returns its error at once while the write goes on
// within the strong write bound, and its end releases the fences. A store
// write that still ends without an outcome makes this node leave the
// membership and rejoin, so that the store settles it (applied, or
// refused from then on), and no node caches strong keys until it has;
// docs/syncbus.md, "A write that may land late".
func (w *Warp[T]) Set(ctx context.Context, key string, value T) error {
	start := w.started()
	err := w.set(ctx, key, value)
	w.record("set", key, start, err)
	return err
}

func (w *Warp[T]) set(ctx context.Context, key string, value T) error {
	if _, ok := w.engine.Lookup(key); ok {
		if err := w.check(ctx, key); err != nil {
			return err
		}
		reg, epoch, err := w.lookup(key)
		if err != nil {
			return err
		}
		return w.setMerged(ctx, key, reg, epoch, value)
	}
	return w.setWrite(ctx, key, value, store.Write{})
}

// setWrite writes value under the conditions of wr (a fencing token); the
// store assigns the version.
func (w *Warp[T]) setWrite(ctx context.Context, key string, value T, wr store.Write) error {
	if err := w.check(ctx, key); err != nil {
		return err
	}
	reg, epoch, err := w.lookup(key)
	if err != nil {
		return err
	}
	sc := w.writeScratch()
	now := w.node.Now()
	entry, err := w.appendEntryAt(sc.buf, key, reg, epoch, value, now)
	if err != nil {
		return err
	}
	h := w.router.Hash(key)
	v := w.router.Shard(h)
	if reg.mode == ModeStrongDistributed {
		w.recycle(sc, entry) // built to check the value's size only
		// The write may outlive this call (setStrong): it captures copies
		// made here, so that the other paths' wr and value stay on the
		// stack (TestSetAllocatesNothing).
		key, value, wr := key, value, wr
		return w.setStrong(ctx, "set", key, reg, func(ctx context.Context, min merge.Version, g store.Guard) error {
			wr.Min, wr.Guard = min, g
			_, err := w.store.Set(ctx, key, value, wr)
			if err != nil {
				return fmt.Errorf("warp: set %q: %w", key, err)
			}
			return nil
		})
	}
	if wr.Guard, err = w.eventualGuard("set", key, reg); err != nil {
		w.recycle(sc, entry)
		return err
	}
	gen := v.Gen(h)
	wr.Min = w.node.HLCAt(now)
	ver, err := w.store.Set(ctx, key, value, wr)
	if err != nil {
		w.recycle(sc, entry)
		w.dropAfterFailedWrite(key, reg, v, err)
		return guardedStoreErr(fmt.Errorf("warp: set %q: %w", key, err))
	}
	if w.installed(key, h, reg, v, sc, entry, ver, wr.Min, gen) {
		w.recycle(sc, entry)
	}
	return nil
}

// deleteWrite deletes key under the conditions of wr, through the same
// protocol as a write of key's mode.
func (w *Warp[T]) deleteWrite(ctx context.Context, key string, wr store.Write) error {
	if err := w.check(ctx, key); err != nil {
		return err
	}
	reg, _, err := w.lookup(key)
	if err != nil {
		return err
	}
	v := w.router.Shard(w.router.Hash(key))
	if reg.mode == ModeStrongDistributed {
		key, wr := key, wr // as in setWrite: copies for a write that may outlive the call
		return w.setStrong(ctx, "delete", key, reg, func(ctx context.Context, min merge.Version, g store.Guard) error {
			wr.Min, wr.Guard = min, g
			if _, err := w.store.Delete(ctx, key, wr); err != nil {
				return fmt.Errorf("warp: delete %q: %w", key, err)
			}
			return nil
		})
	}
	if wr.Guard, err = w.eventualGuard("delete", key, reg); err != nil {
		return err
	}
	wr.Min = w.node.HLC().Now()
	ver, err := w.store.Delete(ctx, key, wr)
	if err != nil {
		w.dropAfterFailedWrite(key, reg, v, err)
		return guardedStoreErr(fmt.Errorf("warp: delete %q: %w", key, err))
	}
	rep := w.router.Replies.Get()
	if _, err := w.request(v, &messages.Invalidate{Key: key, Version: ver, Reply: rep}, rep); err != nil {
		w.report(fmt.Errorf("warp: delete %q: drop the cached copy: %w", key, err))
	}
	w.propagate(key, reg, ver)
	return nil
}

// writeScratch returns a write's scratch from the pool.
func (w *Warp[T]) writeScratch() *writeScratch {
	if sc, ok := w.pools.scratch.Get().(*writeScratch); ok {
		return sc
	}
	return &writeScratch{rep: messages.NewReply()}
}

// recycle returns sc to the pool once the shard answered, entry (built in
// sc.buf) as its buffer; one grown past maxRecycledEntry is left to the
// GC.
func (w *Warp[T]) recycle(sc *writeScratch, entry []byte) {
	if cap(entry) <= maxRecycledEntry {
		sc.buf = entry[:0]
		w.pools.scratch.Put(sc)
	}
}

// maxRecycledEntry bounds the entry buffers kept for reuse.
const maxRecycledEntry = 4 << 10

// dropAfterFailedWrite drops key's cached copy after a store write failed:
// a store may have applied a write whose call failed (a context that ended
// mid-write, a lost connection), so the cached copy may be older than the
// store. The next read reloads it.
//
// The peers of an EventualDistributed key are told to drop theirs too, with
// version 0, which every peer applies unconditionally (as Invalidate's):
// the version the store may have given the write is unknown, and a
// versioned drop would fall short or be refused. A version from this
// node's clock spares a peer's copy at or above it, which may still be the
// old value when the store's count ran ahead of the clock; a version past
// every copy (merge.MaxVersion) is beyond the peers' clock bound, which a
// peer applies only as an unversioned drop while counting a clock
// violation against this node (bus.ErrAhead, see applier.Invalidate). The
// peers of a StrongDistributed key need nothing: the write's fence dropped
// their copies and keeps them from caching the key until its release.
//
// A store error that proves the write was not applied (a failed check, a
// stale fencing token, a refused guard, a value refused as too large or
// invalid) changes nothing anywhere, so the peers are not told.
func (w *Warp[T]) dropAfterFailedWrite(key string, reg *registration, v *shard.View, err error) {
	rep := w.router.Replies.Get()
	_, _ = w.request(v, &messages.Invalidate{Key: key, Reply: rep}, rep)
	if reg.mode == ModeEventualDistributed && !notApplied(err) {
		w.propagate(key, reg, 0)
	}
}

// notApplied reports whether a store write's error proves that the store
// did not apply it.
func notApplied(err error) bool {
	for _, sentinel := range []error{store.ErrConflict, store.ErrFenced, store.ErrNotMember, store.ErrTooLarge, store.ErrInvalid} {
		if errors.Is(err, sentinel) {
			return true
		}
	}
	return false
}

// installed finishes a write the store accepted at version ver: it installs
// entry on this node and propagates the write as key's mode requires. It
// reports whether the shard answered without failing, after which nothing
// holds entry any more. issued is the version this node's clock gave the
// write as its minimum: the clock is past it already, so only a larger ver
// (the store's own count ran ahead) needs observing, and the common write
// does not read the clock's line, which every writer on every core moves.
func (w *Warp[T]) installed(key string, h uint64, reg *registration, v *shard.View, sc *writeScratch, entry []byte, ver, issued merge.Version, gen uint64) bool {
	if ver > issued {
		w.node.HLC().Observe(ver)
	}
	shard.PatchVersion(entry, ver)
	if reg.strategy != nil {
		w.stats.wrote(h, w.node.Now())
	}
	sc.msg = messages.Install{Key: key, Entry: entry, Gen: gen, Reply: sc.rep}
	err := ErrClosed
	if v.Enter() {
		w.router.Send(v, &sc.msg)
		v.Leave()
		err = sc.rep.Wait().Err
		sc.rep.Reset()
	}
	if err == nil {
		sc.msg = messages.Install{}
	} else {
		// The store has the value and the shard holds no older copy
		// (a failed install drops it), so the write stands. The scratch
		// is not reused: a shard that panicked on its message may still
		// hold it.
		w.report(fmt.Errorf("warp: set %q: install: %w", key, err))
	}
	// Peers of an eventual key drop their copies; for a strong key they are
	// fenced already, and this tells them the version that was written.
	w.propagate(key, reg, ver)
	return err == nil
}

// setMerged writes the merge of key's current value and value. It holds the
// key's write lock in its shard, so merges on this node are serialized, and
// writes with a compare-and-swap on the store's version, retrying when
// another node wrote in between: no update is lost.
func (w *Warp[T]) setMerged(ctx context.Context, key string, reg *registration, epoch uint32, value T) error {
	if reg.mode == ModeStrongDistributed {
		key, reg, epoch, value := key, reg, epoch, value // as in setWrite
		return w.setStrong(ctx, "set", key, reg, func(ctx context.Context, min merge.Version, g store.Guard) error {
			return w.mergeLocked(ctx, key, reg, epoch, value, min, g)
		})
	}
	g, err := w.eventualGuard("set", key, reg)
	if err != nil {
		return err
	}
	return guardedStoreErr(w.mergeLocked(ctx, key, reg, epoch, value, 0, g))
}

// mergeLocked is setMerged under the key's lock; versions are at least min,
// and the store writes are guarded by g.
func (w *Warp[T]) mergeLocked(ctx context.Context, key string, reg *registration, epoch uint32, value T, min merge.Version, g store.Guard) error {
	h := w.router.Hash(key)
	v := w.router.Shard(h)
	res, err := w.lockKey(ctx, v, key)
	if err != nil {
		return fmt.Errorf("warp: set %q: lock: %w", key, err)
	}
	defer w.unlockKey(v, key, res.Gen)
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("warp: set %q: %w", key, err)
		}
		cur, exists, err := w.readForMerge(ctx, key)
		if err != nil {
			return err
		}
		merged, err := w.engine.Merge(key, cur.Value, exists, value)
		if err != nil {
			return fmt.Errorf("warp: set %q: %w", key, err)
		}
		sc := w.writeScratch()
		entry, err := w.appendEntry(sc.buf, key, reg, epoch, merged)
		if err != nil {
			return err
		}
		gen := v.Gen(h)
		issued := w.node.HLC().Now()
		ver, err := w.store.Set(ctx, key, merged, store.Write{Min: max(min, issued), Check: true, IfVersion: cur.Version, Guard: g})
		if errors.Is(err, store.ErrConflict) && attempt < maxMergeAttempts {
			w.recycle(sc, entry)
			continue // another node wrote in between: merge again
		}
		if err != nil {
			w.recycle(sc, entry)
			w.dropAfterFailedWrite(key, reg, v, err)
			return fmt.Errorf("warp: set %q: %w", key, err) // the caller wraps a guard's refusal
		}
		if reg.mode == ModeStrongDistributed {
			w.recycle(sc, entry)
			return nil // fenced: the next read loads it
		}
		if w.installed(key, h, reg, v, sc, entry, ver, issued, gen) {
			w.recycle(sc, entry)
		}
		return nil
	}
}

// lockKey takes key's write lock in shard v, waiting at most until ctx
// ends; it then fails with an error wrapping ctx's, and tells the shard,
// which withdraws the request, or releases the lock if it granted it
// meanwhile. No goroutine waits for a caller that gave up, however long
// the lock stays held (TestAbandonedLockWaitsLeaveNothing).
func (w *Warp[T]) lockKey(ctx context.Context, v *shard.View, key string) (messages.Result, error) {
	rep := w.router.Replies.Get()
	msg := &messages.LockKey{Key: key, Reply: rep}
	if ctx.Done() == nil { // cannot be cancelled: wait in place, no goroutine
		return w.request(v, msg, rep)
	}
	if !v.Enter() {
		return messages.Result{}, ErrClosed
	}
	w.router.Send(v, msg)
	v.Leave()
	res, ok := rep.WaitOr(ctx.Done())
	if !ok {
		// The caller gives up: the shard withdraws the request, or
		// releases the lock if it granted it meanwhile. The slot may
		// still be answered, so it is not reused.
		if v.Enter() {
			w.router.Send(v, &messages.AbandonLock{Key: key, Request: msg})
			v.Leave()
		}
		return messages.Result{}, ctx.Err()
	}
	w.router.Replies.Put(rep)
	return res, res.Err
}

// unlockKey releases key's write lock in shard v, granted in generation
// gen.
func (w *Warp[T]) unlockKey(v *shard.View, key string, gen uint64) {
	if v.Enter() {
		w.router.Send(v, &messages.UnlockKey{Key: key, Gen: gen})
		v.Leave()
	}
}

// readForMerge returns key's value and the version a compare-and-swap of
// its merge must name: the value's own, or, for an absent key, the version
// of its absence (0, or its tombstone's). That version is read after the
// Get found nothing, and, unless it is 0 (the key was never written, so
// nothing came in between), the key is read again after it: a write that
// created the key in between is then merged, not overwritten by a merge
// of nothing whose compare-and-swap names the new version. If the second
// read finds it absent too, any write since the version was read moved
// the version, and the compare-and-swap fails and is retried.
func (w *Warp[T]) readForMerge(ctx context.Context, key string) (cur store.Item[T], exists bool, err error) {
	read := func() (store.Item[T], bool, error) {
		it, err := w.store.Get(ctx, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return it, false, fmt.Errorf("warp: set %q: read for merge: %w", key, err)
		}
		return it, err == nil, nil
	}
	if cur, exists, err = read(); err != nil || exists {
		return cur, exists, err
	}
	ver, err := w.store.Version(ctx, key)
	if err != nil {
		return cur, false, fmt.Errorf("warp: set %q: read version for merge: %w", key, err)
	}
	if ver == 0 { // never written so far: nothing came in between
		return cur, false, nil
	}
	if cur, exists, err = read(); err != nil || exists {
		return cur, exists, err
	}
	cur.Version = ver
	return cur, false, nil
}

// maxMergeAttempts bounds the compare-and-swap retries of one merged write.
const maxMergeAttempts = 64

// Invalidate drops key's cached copy on this node (and, in distributed
// modes, on every node), so the next Get loads it from the store. It does
// not change the store.
func (w *Warp[T]) Invalidate(ctx context.Context, key string) error {
	start := w.started()
	err := w.invalidate(ctx, key)
	w.record("invalidate", key, start, err)
	return err
}

func (w *Warp[T]) invalidate(ctx context.Context, key string) error {
	if err := w.check(ctx, key); err != nil {
		return err
	}
	reg, _, err := w.lookup(key)
	if err != nil {
		return err
	}
	h := w.router.Hash(key)
	v := w.router.Shard(h)
	rep := w.router.Replies.Get()
	if _, err := w.request(v, &messages.Invalidate{Key: key, Reply: rep}, rep); err != nil {
		return fmt.Errorf("warp: invalidate %q: %w", key, err)
	}
	if reg.mode == ModeStrongDistributed && w.bus != nil {
		if acked, err := w.bus.PublishStrong(ctx, key, 0, reg.quorum); err != nil {
			return fmt.Errorf("%w: invalidate %q: %d peers acked (quorum %d): %w", ErrQuorum, key, acked, reg.quorum, err)
		}
		return nil
	}
	w.propagate(key, reg, 0)
	return nil
}

// report sends an asynchronous failure to PublishErrors without blocking.
func (w *Warp[T]) report(err error) {
	w.errsMu.RLock()
	defer w.errsMu.RUnlock()
	if w.errsClosed {
		w.droppedErrors.Add(1)
		return
	}
	select {
	case w.errs <- err:
	default:
		w.droppedErrors.Add(1)
	}
}
