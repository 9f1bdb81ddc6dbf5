package natslease

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// attempts bounds the retries of one call: a Grant whose random id is
// taken, an Attach or KeepAlive that raced a concurrent KeepAlive.
const attempts = 3

// Grant creates a lease that the server deletes ttl after the grant
// (0: [Config.DefaultTTL]; rounded up to whole seconds; negative or above
// [MaxTTL]: [ErrInvalid]), unless
// [Leases.KeepAlive] extends it first. Its end, by expiry or
// [Leases.Revoke], revokes its keys on every node.
func (l *Leases) Grant(ctx context.Context, ttl time.Duration) (Lease, error) {
	ttl, err := resolveTTL("grant", ttl, l.cfg.DefaultTTL)
	if err != nil {
		return Lease{}, err
	}
	ctx, leave, err := l.begin(ctx, "grant", "")
	if err != nil {
		return Lease{}, err
	}
	defer leave()
	for range attempts {
		id := newID()
		_, err = l.kv.Create(ctx, leaseKey(id), encodeTTL(ttl), jetstream.KeyTTL(ttl))
		if err == nil {
			return Lease{ID: id, TTL: ttl}, nil
		}
		if !isConflict(err) && !errors.Is(err, jetstream.ErrKeyExists) {
			return Lease{}, opError(ctx, "grant", "", err)
		}
	}
	return Lease{}, opError(ctx, "grant", "", err)
}

// Attach attaches key (any bytes, 1 to [MaxKeyLen]) to lease id, so that
// the lease's end revokes it on every node. It returns an error wrapping
// [ErrNotFound] if the lease does not exist, or if it ended while
// attaching: the key is then revoked anyway, on every node, by the
// watchers. Attaching a key twice is harmless. A new key on a lease that
// has [Config.MaxAttachments] keys already, as this node's watcher knows
// them, is refused with [ErrTooManyKeys]; attachments made at the same
// time, or not yet seen by the watcher, can take a lease past the bound
// (see [Config.Flush]).
//
// The attachment is written with the lease's TTL, so it outlives the lease
// entry and disappears by itself. Attach reads the lease before and after
// writing: if it ended in between, Attach reports ErrNotFound; if a
// KeepAlive changed the TTL in between, Attach writes the attachment again
// with the new TTL.
func (l *Leases) Attach(ctx context.Context, id, key string) error {
	if err := checkID("attach", id); err != nil {
		return err
	}
	if err := checkKey(id, key); err != nil {
		return err
	}
	ctx, leave, err := l.begin(ctx, "attach", id)
	if err != nil {
		return err
	}
	defer leave()
	if l.table.full(id, key) {
		return fmt.Errorf("natslease: attach %s: %d keys attached already: %w", id, l.cfg.MaxAttachments, ErrTooManyKeys)
	}
	e, err := l.lease(ctx, "attach", id)
	if err != nil {
		return err
	}
	l.hook("read")
	subject := l.subject + attachKey(id, key)
	for attempt := 1; ; attempt++ {
		ttl, err := decodeTTL(e.Value())
		if err != nil {
			return err
		}
		if _, err := l.js.PublishMsg(ctx, &nats.Msg{Subject: subject}, jetstream.WithMsgTTL(ttl)); err != nil {
			return opError(ctx, "attach", id, err)
		}
		l.hook("written")
		after, err := l.lease(ctx, "attach", id)
		if err != nil || after.Revision() == e.Revision() || attempt == attempts {
			return err
		}
		e = after // kept alive meanwhile, perhaps with another TTL
	}
}

// KeepAlive extends lease id to ttl from now (0: the lease's current TTL),
// rounded up to whole seconds, together with its attachments. It returns
// an error wrapping [ErrNotFound] if the lease already ended: an ended
// lease is never brought back. A ttl that is negative or above [MaxTTL],
// or, with ttl 0, a lease entry whose TTL does not read back as 1s to
// MaxTTL (written by another client), is [ErrInvalid], and the entry is
// left as it was. A lease with more than [Config.MaxAttachments] keys
// attached on the server is revoked instead, since the attachments past
// the bound would expire before it, with an error wrapping
// [ErrTooManyKeys]. Call it well before the TTL runs out, e.g. at a third
// of it.
func (l *Leases) KeepAlive(ctx context.Context, id string, ttl time.Duration) error {
	if err := checkID("keepalive", id); err != nil {
		return err
	}
	if ttl != 0 {
		var err error
		if ttl, err = resolveTTL("keepalive "+id, ttl, 0); err != nil {
			return err
		}
	}
	ctx, leave, err := l.begin(ctx, "keepalive", id)
	if err != nil {
		return err
	}
	defer leave()
	ttl, err = l.refreshLease(ctx, id, ttl)
	if err != nil {
		return err
	}
	return l.refreshAttachments(ctx, id, ttl)
}

// refreshLease rewrites the lease entry with ttl (resolved; 0: the TTL
// the entry holds), compare-and-set on the revision it read, so that a
// lease that ended stays ended. An entry whose TTL does not decode is
// left as it is: rewriting it without a TTL would make it live forever.
func (l *Leases) refreshLease(ctx context.Context, id string, ttl time.Duration) (time.Duration, error) {
	var err error
	for range attempts {
		var e jetstream.KeyValueEntry
		if e, err = l.lease(ctx, "keepalive", id); err != nil {
			return 0, err
		}
		t := ttl
		if t == 0 {
			if t, err = decodeTTL(e.Value()); err != nil {
				return 0, err
			}
		}
		// KeyValue.Update cannot carry a TTL, and an entry without one
		// never expires, so publish to the key's subject directly.
		msg := &nats.Msg{Subject: l.subject + leaseKey(id), Data: encodeTTL(t)}
		_, err = l.js.PublishMsg(ctx, msg,
			jetstream.WithExpectLastSequencePerSubject(e.Revision()), jetstream.WithMsgTTL(t))
		if err == nil {
			return t, nil
		}
		if !isConflict(err) { // a conflict: ended, or kept alive concurrently
			break
		}
	}
	return 0, opError(ctx, "keepalive", id, err)
}

// refreshAttachments rewrites every attachment of id with ttl, each
// compare-and-set on the revision listed, so a purged one stays purged.
// The writes are pipelined. If id has more than MaxAttachments, it
// revokes id instead.
func (l *Leases) refreshAttachments(ctx context.Context, id string, ttl time.Duration) error {
	entries, err := l.attachments(ctx, id)
	if err != nil {
		return err
	}
	if len(entries) > l.cfg.MaxAttachments {
		return l.revokeOverflowed(ctx, id)
	}
	acks := make([]jetstream.PubAckFuture, 0, len(entries))
	for _, e := range entries {
		msg := &nats.Msg{Subject: l.subject + e.Key()}
		f, err := l.js.PublishMsgAsync(msg,
			jetstream.WithExpectLastSequencePerSubject(e.Revision()), jetstream.WithMsgTTL(ttl))
		if err != nil {
			return opError(ctx, "keepalive", id, err)
		}
		acks = append(acks, f)
	}
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if !isConflict(err) { // a conflict: purged or rewritten meanwhile
				return opError(ctx, "keepalive", id, err)
			}
		case <-ctx.Done():
			return opError(ctx, "keepalive", id, ctx.Err())
		}
	}
	return nil
}

// revokeOverflowed revokes lease id, which has more than MaxAttachments
// keys attached: its lease entry was just rewritten, and the attachments
// past the bound, not rewritten, would expire before it, unknown to a
// node that joins later. Every watcher has seen them, so the lease's end
// reaches every key (see Config.Flush).
func (l *Leases) revokeOverflowed(ctx context.Context, id string) error {
	if err := l.kv.Purge(ctx, leaseKey(id), jetstream.PurgeTTL(l.markerTTL)); err != nil {
		return opError(ctx, "keepalive", id, err)
	}
	return fmt.Errorf("natslease: keepalive %s: more than %d keys attached, lease revoked: %w", id, l.cfg.MaxAttachments, ErrTooManyKeys)
}

// attachments lists the live attachment entries of id on the server, up
// to MaxAttachments+1 of them.
func (l *Leases) attachments(ctx context.Context, id string) ([]jetstream.KeyValueEntry, error) {
	// The client keeps a goroutine until the watch's context ends.
	w, end, err := jskv.Watch(ctx, l.kv, attachFilter(id), jetstream.MetaOnly(), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, opError(ctx, "keepalive", id, err)
	}
	defer jskv.EndWatch(end, w)
	var out []jetstream.KeyValueEntry
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, opError(ctx, "keepalive", id, jetstream.ErrConsumerNotFound)
			}
			if e == nil {
				return out, nil
			}
			if out = append(out, e); len(out) > l.cfg.MaxAttachments {
				return out, nil
			}
		case <-ctx.Done():
			return nil, opError(ctx, "keepalive", id, ctx.Err())
		}
	}
}

// Revoke ends lease id now: it purges the lease entry, whose marker makes
// every node's watcher revoke the lease's keys. It returns an error
// wrapping [ErrNotFound] if the lease had already ended. Revoke returns
// before the watchers, this node's included, have called onRevoke. The
// attachments are left to expire with their TTL: purging them could hide
// them from a watcher that has not received them yet.
func (l *Leases) Revoke(ctx context.Context, id string) error {
	if err := checkID("revoke", id); err != nil {
		return err
	}
	ctx, leave, err := l.begin(ctx, "revoke", id)
	if err != nil {
		return err
	}
	defer leave()
	if _, err := l.lease(ctx, "revoke", id); err != nil {
		return err
	}
	// Unconditional: a KeepAlive racing the revocation must not win it.
	if err := l.kv.Purge(ctx, leaseKey(id), jetstream.PurgeTTL(l.markerTTL)); err != nil {
		return opError(ctx, "revoke", id, err)
	}
	return nil
}

// lease reads the entry of lease id; ErrNotFound if it has ended.
func (l *Leases) lease(ctx context.Context, op, id string) (jetstream.KeyValueEntry, error) {
	e, err := l.kv.Get(ctx, leaseKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, notFound(op, id)
	}
	if err != nil {
		return nil, opError(ctx, op, id, err)
	}
	return e, nil
}

func (l *Leases) hook(stage string) {
	if l.attachHook != nil {
		l.attachHook(stage)
	}
}
