package natslock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Lock is one grant of a lock, returned by [Locker.TryLock] and
// [Locker.Lock]. It is safe for concurrent use: its Refresh and Unlock
// calls run one at a time, in call order, and one waiting for its turn
// gives up when its context ends.
type Lock struct {
	l     *Locker
	name  string
	token uint64 // revision of the granting Create; never changes

	// turn (one slot) guards rev, ttl and held; it is held across a
	// Refresh or Unlock round trip so they apply in call order, and a
	// caller waiting for it gives up when its context ends.
	turn chan struct{}
	rev  uint64 // revision of the entry this grant last wrote, as far as it knows
	ttl  time.Duration
	held bool // false after a successful Unlock or a refused Refresh/Unlock
}

// take waits for the grant's turn, or for ctx to end (an error wrapping
// ctx's); release gives the turn back.
func (k *Lock) take(ctx context.Context, op string) error {
	select {
	case k.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return opError(ctx, op, k.name, fmt.Errorf("waiting for the grant's call in flight: %w", ctx.Err()))
	}
}

func (k *Lock) release() { <-k.turn }

// refreshValue is the value a Refresh of the grant writes: the owner id,
// a newline and the token, which tells the grant's entries from any
// other's, even another grant of the same Locker.
func (k *Lock) refreshValue() []byte {
	return fmt.Appendf(slices.Clip(k.l.value), "\n%d", k.token)
}

// catchUp is called when a write conditional on k.rev found another
// revision: it re-reads the entry and, if it is still this grant's (a
// Refresh whose reply was lost had landed), moves k.rev to it and reports
// true. Otherwise the grant has lost the lock.
func (k *Lock) catchUp(ctx context.Context, op string) (bool, error) {
	e, err := k.l.kv.Get(ctx, k.name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, opError(ctx, op, k.name, err)
	}
	if e.Revision() <= k.rev || !bytes.Equal(e.Value(), k.refreshValue()) {
		return false, nil
	}
	k.rev = e.Revision()
	return true, nil
}

// conflicted handles a write of op that found another revision than
// k.rev: it returns nil if the write should be tried again (once, after
// catching up), else the error to return.
func (k *Lock) conflicted(ctx context.Context, op string, retried bool) error {
	if !retried {
		ok, err := k.catchUp(ctx, op)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	k.held = false
	return fmt.Errorf("natslock: %s %q: token %d: %w", op, k.name, k.token, ErrNotHeld)
}

// Name returns the lock's name.
func (k *Lock) Name() string { return k.name }

// Token returns the grant's fencing token: the KV revision (stream
// sequence) of the create that granted it. Every later grant of the same
// name has a larger token, and Refresh does not change it. Pass it to the
// store as store.Write.Fence.
func (k *Lock) Token() uint64 { return k.token }

// Refresh extends the lock to ttl from now (0: the last TTL used), rounded
// up to whole seconds (negative or above [MaxTTL]: [ErrInvalid], and the
// grant is left as it was), if this grant still holds it; otherwise it returns
// an error wrapping [ErrNotHeld]. The server writes the extension only if
// the key's last revision is the one this grant wrote (compare-and-set).
// If an earlier Refresh failed after the server stored it (its reply was
// lost, or ctx ended), the compare-and-set finds a newer revision; Refresh
// then reads the entry and, if this grant wrote it, carries on from it.
func (k *Lock) Refresh(ctx context.Context, ttl time.Duration) error {
	if err := k.take(ctx, "refresh"); err != nil {
		return err
	}
	defer k.release()
	ttl, err := leaseTTL(ttl, k.ttl)
	if err != nil {
		return err
	}
	if !k.held {
		return fmt.Errorf("natslock: refresh %q: token %d: %w", k.name, k.token, ErrNotHeld)
	}
	if k.l.isClosed() {
		return fmt.Errorf("natslock: refresh %q: %w", k.name, ErrClosed)
	}
	for retried := false; ; retried = true {
		// KeyValue.Update cannot carry a TTL, and an entry without one
		// never expires, so publish the update to the key's subject
		// directly.
		msg := &nats.Msg{Subject: k.l.subject + k.name, Header: nats.Header{}, Data: k.refreshValue()}
		ack, err := k.l.js.PublishMsg(ctx, msg,
			jetstream.WithExpectLastSequencePerSubject(k.rev), jetstream.WithMsgTTL(ttl))
		if err == nil && k.l.written != nil {
			err = k.l.written("refresh")
		}
		if isConflict(err) {
			if err := k.conflicted(ctx, "refresh", retried); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return opError(ctx, "refresh", k.name, err)
		}
		k.rev, k.ttl = ack.Sequence, ttl
		return nil
	}
}

// Unlock releases the lock if this grant still holds it; otherwise it
// returns an error wrapping [ErrNotHeld]. The release is a purge guarded
// by the grant's last revision; its marker wakes the waiters and expires
// after the bucket's marker TTL. Unlock works after [Locker.Close].
func (k *Lock) Unlock(ctx context.Context) error {
	if err := k.take(ctx, "unlock"); err != nil {
		return err
	}
	defer k.release()
	if !k.held {
		return fmt.Errorf("natslock: unlock %q: token %d: %w", k.name, k.token, ErrNotHeld)
	}
	for retried := false; ; retried = true {
		err := k.l.kv.Purge(ctx, k.name, jetstream.LastRevision(k.rev), jetstream.PurgeTTL(k.l.markerTTL))
		if isConflict(err) {
			if err := k.conflicted(ctx, "unlock", retried); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return opError(ctx, "unlock", k.name, err)
		}
		k.held = false
		return nil
	}
}

func (l *Locker) isClosed() bool { return l.gate.Closed() }
