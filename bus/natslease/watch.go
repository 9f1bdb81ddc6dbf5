package natslease

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// drainTimeout bounds the wait for a stopped watch's channel to close.
const drainTimeout = 5 * time.Second

// startWatch starts the node's watcher of the whole bucket and waits until
// it has replayed the bucket's current entries.
func (l *Leases) startWatch(ctx context.Context, onRevoke RevokeFunc) error {
	// The watch outlives ctx (New's): it is stopped by Close. Its context
	// must end, or the client keeps a goroutine waiting for it.
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := l.kv.WatchAll(wctx)
	if err != nil {
		cancel()
		close(l.stopped)
		return opError(ctx, "watch", l.cfg.Bucket, err)
	}
	ready := make(chan error, 1)
	go func() {
		defer cancel()
		l.run(w, onRevoke, ready)
	}()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = fmt.Errorf("natslease: watch %s: replay: %w", l.cfg.Bucket, ctx.Err())
	}
	if err != nil {
		_ = l.Close()
	}
	return err
}

// run is the watcher goroutine: it applies the bucket's entries to the
// table and calls onRevoke, until Close or the watch ends.
func (l *Leases) run(w jetstream.KeyWatcher, onRevoke RevokeFunc, ready chan<- error) {
	defer close(l.stopped)
	defer stopWatch(w)
	replaying := true
	revoke := func(id string, keys []string) { l.callRevoke(onRevoke, id, keys) }
	for {
		select {
		case <-l.gate.Done():
			return
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				l.cfg.Logger.Error("natslease: watch stopped (connection closed?); revocations are no longer seen", "bucket", l.cfg.Bucket)
				if replaying {
					ready <- fmt.Errorf("natslease: watch %s: stopped during replay", l.cfg.Bucket)
				}
				return
			case e == nil: // end of the replay, sent once
				replaying = false
				for _, id := range l.table.orphans() {
					if keys, first, _ := l.table.end(id); first {
						revoke(id, keys)
					}
				}
				ready <- nil
			default:
				l.apply(e, replaying, revoke)
			}
		}
	}
}

// apply updates the table with one entry and revokes what it ended.
//
// Entries can be missed: the bucket keeps one entry per key, so a newer
// one (a KeepAlive, a marker) replaces an older one that the watcher had
// not received yet. So no single entry is relied on: any entry of an
// attachment, put or marker, says that its key is attached to its lease,
// and any attachment entry of a lease not yet seen is held (pending)
// until the lease's entry or its end shows up; after the replay, the
// watcher reads the lease's entry at once, and ends the lease if it is
// gone (its end was seen so long ago that its tombstone is forgotten, or
// it never existed). The end of a lease leaves a
// tombstone, so that an attachment written after the end (an Attach that
// lost the race) is revoked at once, and the markers of attachments that
// expire after their lease are ignored. Every end seen after the replay
// is reported once, with the keys known (maybe none). At the end of the replay, pending
// attachments whose lease entry was not in the bucket are revoked as
// orphans.
func (l *Leases) apply(e jetstream.KeyValueEntry, replaying bool, revoke func(string, []string)) {
	id, key, isAttach, ok := parseKV(e.Key())
	if !ok {
		l.cfg.Logger.Warn("natslease: ignoring a foreign entry", "bucket", l.cfg.Bucket, "key", e.Key())
		return
	}
	marker := e.Operation() == jetstream.KeyValueDelete || e.Operation() == jetstream.KeyValuePurge
	switch {
	case isAttach:
		ended, live := l.table.sighting(id, key)
		switch {
		case ended && !marker:
			revoke(id, []string{key})
		case !ended && !live && !marker && !replaying:
			// After the replay the watcher sees a lease's entry before
			// any attachment written after it, so this lease ended long
			// enough ago that its tombstone is gone (an Attach paused
			// between its reads and its write), or never existed.
			l.endIfGone(id, revoke)
		}
	case marker:
		// After the replay, every end is reported, even of a lease whose
		// entry was replaced by its marker before this watcher got it.
		if keys, first, known := l.table.end(id); first && (known || !replaying) {
			revoke(id, keys)
		}
	default:
		ttl, err := decodeTTL(e.Value())
		if err != nil {
			l.cfg.Logger.Warn("natslease: lease entry without a TTL", "bucket", l.cfg.Bucket, "lease", id, "err", err)
		}
		l.table.grant(id, ttl)
	}
}

// endIfGone ends lease id, revoking the keys seen attached to it, if its
// entry is not in the bucket. A failed read (bounded by drainTimeout, and
// ended by Close) leaves the keys pending, as before it, and is logged.
func (l *Leases) endIfGone(id string, revoke func(string, []string)) {
	ctx, cancel := context.WithTimeout(l.gate.Context(), drainTimeout)
	defer cancel()
	_, err := l.kv.Get(ctx, leaseKey(id))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		if keys, first, _ := l.table.end(id); first {
			revoke(id, keys)
		}
	case err != nil && l.gate.Closed(): // ended by Close: nothing to report
	case err != nil:
		l.cfg.Logger.Warn("natslease: attachment of an unknown lease, whose entry could not be read", "bucket", l.cfg.Bucket, "lease", id, "err", err)
	}
}

// callRevoke calls onRevoke, recovering a panic.
func (l *Leases) callRevoke(onRevoke RevokeFunc, id string, keys []string) {
	defer func() {
		if r := recover(); r != nil {
			l.cfg.Logger.Error("natslease: revoke callback panicked", "lease", id, "keys", len(keys), "panic", fmt.Sprint(r))
		}
	}()
	onRevoke(id, keys)
}

// stopWatch stops w and drains it (jskv.StopWatch), bounded by
// drainTimeout.
func stopWatch(w jetstream.KeyWatcher) { jskv.StopWatch(w, drainTimeout) }
