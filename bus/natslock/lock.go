package natslock

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Lock is one grant of a lock, returned by [Locker.TryLock] and
// [Locker.Lock]. It is safe for concurrent use.
type Lock struct {
	l     *Locker
	name  string
	token uint64 // revision of the granting Create; never changes

	mu   sync.Mutex // guards rev, ttl and held; held across a Refresh or Unlock round trip so they apply in call order
	rev  uint64     // revision of the entry this grant last wrote
	ttl  time.Duration
	held bool // false after a successful Unlock or a refused Refresh/Unlock
}

// Name returns the lock's name.
func (k *Lock) Name() string { return k.name }

// Token returns the grant's fencing token: the KV revision (stream
// sequence) of the create that granted it. Every later grant of the same
// name has a larger token, and Refresh does not change it. Pass it to the
// store as store.Write.Fence.
func (k *Lock) Token() uint64 { return k.token }

// Refresh extends the lock to ttl from now (0: the last TTL used), rounded
// up to whole seconds, if this grant still holds it; otherwise it returns
// an error wrapping [ErrNotHeld]. The server writes the extension only if
// the key's last revision is the one this grant wrote (compare-and-set).
func (k *Lock) Refresh(ctx context.Context, ttl time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
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
	// KeyValue.Update cannot carry a TTL, and an entry without one never
	// expires, so publish the update to the key's subject directly.
	msg := &nats.Msg{Subject: k.l.subject + k.name, Header: nats.Header{}, Data: k.l.value}
	ack, err := k.l.js.PublishMsg(ctx, msg,
		jetstream.WithExpectLastSequencePerSubject(k.rev), jetstream.WithMsgTTL(ttl))
	if isConflict(err) {
		k.held = false
		return fmt.Errorf("natslock: refresh %q: token %d: %w", k.name, k.token, ErrNotHeld)
	}
	if err != nil {
		return opError(ctx, "refresh", k.name, err)
	}
	k.rev, k.ttl = ack.Sequence, ttl
	return nil
}

// Unlock releases the lock if this grant still holds it; otherwise it
// returns an error wrapping [ErrNotHeld]. The release is a purge guarded
// by the grant's last revision; its marker wakes the waiters and expires
// after the bucket's marker TTL. Unlock works after [Locker.Close].
func (k *Lock) Unlock(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.held {
		return fmt.Errorf("natslock: unlock %q: token %d: %w", k.name, k.token, ErrNotHeld)
	}
	err := k.l.kv.Purge(ctx, k.name, jetstream.LastRevision(k.rev), jetstream.PurgeTTL(k.l.markerTTL))
	if isConflict(err) {
		k.held = false
		return fmt.Errorf("natslock: unlock %q: token %d: %w", k.name, k.token, ErrNotHeld)
	}
	if err != nil {
		return opError(ctx, "unlock", k.name, err)
	}
	k.held = false
	return nil
}

func (l *Locker) isClosed() bool { return l.gate.Closed() }
