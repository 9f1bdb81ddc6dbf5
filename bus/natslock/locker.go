package natslock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// acquireAttempts bounds the create-or-check rounds of one acquisition; a
// round repeats only when the key changed state between the failed create
// and the check (released, or its marker expired).
const acquireAttempts = 3

// Locker grants locks stored in one JetStream KV bucket. It is safe for
// concurrent use; create one per node (per NATS connection) with [New].
type Locker struct {
	js        jetstream.JetStream
	kv        jetstream.KeyValue
	cfg       Config
	subject   string        // "$KV.<bucket>.", prefix of a lock's subject
	markerTTL time.Duration // the bucket's LimitMarkerTTL
	value     []byte        // cfg.Owner, the value of every lock entry

	gate *jskv.Gate // TryLock and Lock calls in progress; Done wakes waiting Lock calls

	// waiting, if set (tests), is called when Lock starts to watch name.
	waiting func(name string)
	// written, if set (tests), is called after the server stored a
	// Refresh; an error it returns stands for a lost reply.
	written func(op string) error
}

// New opens the bucket cfg.Bucket, creating it if missing with per-key TTLs
// (LimitMarkerTTL, which turns on the stream's AllowMsgTTL) and a history
// of 1. A creation the server refuses for want of a store (a bucket of
// that name deleted a moment before, whose files it is still removing) is
// tried again for up to 5 s, within ctx. An existing bucket without
// per-key TTLs or with a longer history is rejected with [ErrInvalid]. js
// is the caller's; [Locker.Close] leaves it and its connection open.
func New(ctx context.Context, js jetstream.JetStream, cfg Config) (*Locker, error) {
	if js == nil {
		return nil, fmt.Errorf("natslock: nil JetStream: %w", ErrInvalid)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	kv, markerTTL, err := jskv.Open(ctx, js, jskv.Bucket{
		Name: cfg.Bucket, Description: "warp locks (natslock)",
		Storage: cfg.Storage, Replicas: cfg.Replicas, MarkerTTL: cfg.MarkerTTL,
	}, "natslock", ErrInvalid)
	if err != nil {
		return nil, err
	}
	return &Locker{
		js: js, kv: kv, cfg: cfg, markerTTL: markerTTL,
		subject: "$KV." + cfg.Bucket + ".",
		value:   []byte(cfg.Owner),
		gate:    jskv.NewGate(),
	}, nil
}

// Owner returns the locker's owner id, the value of the entries it
// creates; a Refresh writes the owner id, a newline and the grant's token.
func (l *Locker) Owner() string { return l.cfg.Owner }

// TryLock acquires the lock name for ttl (0: [Config.DefaultTTL]) if it is
// free, or returns an error wrapping [ErrLocked] at once. The server deletes
// the lock ttl after the grant (rounded up to whole seconds) unless
// [Lock.Refresh] extends it first. A ttl that is negative or above
// [MaxTTL] is [ErrInvalid].
func (l *Locker) TryLock(ctx context.Context, name string, ttl time.Duration) (*Lock, error) {
	ctx, leave, ttl, err := l.begin(ctx, name, ttl)
	if err != nil {
		return nil, err
	}
	defer leave()
	return l.acquire(ctx, name, ttl)
}

// Lock acquires the lock name for ttl like [Locker.TryLock], waiting while
// it is held: it watches the key and tries again each time the key is
// released or expires, until ctx ends (an error wrapping ctx.Err()) or the
// locker is closed ([ErrClosed]). Waiters are not served in order.
func (l *Locker) Lock(ctx context.Context, name string, ttl time.Duration) (*Lock, error) {
	ctx, leave, ttl, err := l.begin(ctx, name, ttl)
	if err != nil {
		return nil, err
	}
	defer leave()
	k, err := l.acquire(ctx, name, ttl)
	if !errors.Is(err, ErrLocked) {
		return k, err
	}
	return l.wait(ctx, name, ttl)
}

// Close stops the locker: later TryLock, Lock and Refresh calls return
// [ErrClosed], TryLock and Lock calls in progress (waiting for the lock or
// for the server) end at once with an error wrapping it, and Close waits
// for them. Held locks stay held until they expire or are
// unlocked ([Lock.Unlock] still works). Idempotent.
func (l *Locker) Close() error {
	l.gate.Close()
	return nil
}

// begin validates a call and registers it as in flight: it returns ctx
// bound to the locker (Close ends it) and leave, which the caller must call
// when begin returns no error.
func (l *Locker) begin(ctx context.Context, name string, ttl time.Duration) (context.Context, func(), time.Duration, error) {
	if err := checkName(name); err != nil {
		return nil, nil, 0, err
	}
	ttl, err := leaseTTL(ttl, l.cfg.DefaultTTL)
	if err != nil {
		return nil, nil, 0, err
	}
	bound, leave, err := l.gate.Enter(ctx, ErrClosed)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("natslock: lock %q: %w", name, err)
	}
	return bound, leave, ttl, nil
}

// acquire creates the key with a per-message TTL. Create fails if the key
// holds a live entry; a failure is ErrLocked only once a read confirms the
// entry is live, because the key may have been released meanwhile.
func (l *Locker) acquire(ctx context.Context, name string, ttl time.Duration) (*Lock, error) {
	for range acquireAttempts {
		rev, err := l.kv.Create(ctx, name, l.value, jetstream.KeyTTL(ttl))
		if err == nil {
			return &Lock{l: l, name: name, token: rev, turn: make(chan struct{}, 1), rev: rev, ttl: ttl, held: true}, nil
		}
		if !isConflict(err) {
			return nil, opError(ctx, "lock", name, err)
		}
		_, err = l.kv.Get(ctx, name)
		if err == nil {
			return nil, fmt.Errorf("natslock: lock %q: %w", name, ErrLocked)
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, opError(ctx, "lock", name, err)
		}
	}
	return nil, fmt.Errorf("natslock: lock %q (contended): %w", name, ErrLocked)
}
