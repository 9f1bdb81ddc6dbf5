package natslease

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// RevokeFunc is called with a lease's id and the keys attached to it when
// the lease is revoked or expires; see [New] for when and how.
type RevokeFunc func(id string, keys []string)

// FlushFunc is called with a lease's id when the lease ends after it had
// more keys attached than [Config.MaxAttachments], or a key attached while
// the watcher did not track it (past [Config.MaxLeases]), keys that the
// watcher did not record; and with an empty id when the watcher may have
// missed lease ends (cut off from the server, paused or held up for half
// of [Config.MarkerTTL] or more, or its watch ended). The node must drop
// every cached key that may have been attached. See [Config.Flush].
type FlushFunc func(id string)

// Leases grants leases and tracks the keys attached to them, stored in one
// JetStream KV bucket. Create one per node (per NATS connection) with
// [New]; it is safe for concurrent use.
type Leases struct {
	js        jetstream.JetStream
	kv        jetstream.KeyValue
	cfg       Config
	subject   string        // "$KV.<bucket>.", prefix of an entry's subject
	markerTTL time.Duration // the bucket's LimitMarkerTTL

	table    table            // leases and attachments seen by the watcher
	onRevoke RevokeFunc       // New's; called by the watcher only
	now      func() time.Time // the watcher's clock for its probes (Config.now)
	probeKey string           // this watcher's probe entries: "probe.<random id>." and the slot
	probes   probeLog         // the probes written, until the watch brings them back
	// alive is the watcher's latest proof (see run); silence carries the
	// probe goroutine's reports that none has come since.
	alive   atomic.Pointer[time.Time]
	silence chan silence

	gate    *jskv.Gate    // calls in progress; Done stops the watcher
	stopped chan struct{} // closed when the watcher goroutine has returned

	// attachHook, if set (tests), is called by Attach at its stages.
	attachHook func(stage string)
	// resolveHook, if set (tests), is called before each read of an
	// unknown lease's entry, with the read's context.
	resolveHook atomic.Pointer[func(ctx context.Context, id string)]
}

// Lease is one grant, returned by [Leases.Grant].
type Lease struct {
	// ID names the lease in every other call: 16 lowercase hex digits.
	ID string
	// TTL is the granted time to live, rounded up to whole seconds.
	TTL time.Duration
}

// New opens the bucket cfg.Bucket, creating it if missing with per-key TTLs
// (LimitMarkerTTL) and a history of 1 (a creation the server refuses for
// want of a store, right after a bucket of that name was deleted, is tried
// again for up to 5 s, within ctx), and starts the node's watcher of
// the bucket. It returns once the watcher has replayed the bucket, so the
// new node knows every live lease and attachment.
//
// onRevoke is called when a lease known to this node is revoked (on any
// node) or expires on the server, with the keys attached to it as seen by
// this node: exactly once per lease, then the lease is forgotten. A lease
// that had more than [Config.MaxAttachments] keys, or a key attached while
// the watcher did not track it (past [Config.MaxLeases]; that key is
// reported at once, alone), ends with a call of cfg.Flush instead, if set.
// A key attached after the lease ended (an Attach that lost the race with
// the revocation) is passed in an extra call with that key alone. Calls
// come from the watcher's goroutine, one at a time, in the bucket's
// order, but for attachments of a lease the watcher does not know: its
// entry is read off the watcher goroutine, and if it is gone the lease's
// keys are reported when the read returns, perhaps after later entries'
// calls (past 1024 such reads pending, each such key is reported at once,
// alone). Neither callback may call [Leases.Close]; a panic in one is
// recovered and logged.
//
// js is the caller's; [Leases.Close] leaves it and its connection open.
func New(ctx context.Context, js jetstream.JetStream, cfg Config, onRevoke RevokeFunc) (*Leases, error) {
	if js == nil || onRevoke == nil {
		return nil, fmt.Errorf("natslease: nil JetStream or revoke callback: %w", ErrInvalid)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	kv, markerTTL, err := jskv.Open(ctx, js, jskv.Bucket{
		Name: cfg.Bucket, Description: "warp leases (natslease)",
		Storage: cfg.Storage, Replicas: cfg.Replicas, MarkerTTL: cfg.MarkerTTL,
	}, "natslease", ErrInvalid)
	if err != nil {
		return nil, err
	}
	l := &Leases{
		js: js, kv: kv, cfg: cfg, markerTTL: markerTTL,
		subject:  "$KV." + cfg.Bucket + ".",
		table:    newTable(time.Now, markerTTL, cfg.DefaultTTL, cfg.MaxAttachments, cfg.MaxLeases, cfg.Flush != nil),
		onRevoke: onRevoke,
		now:      cfg.now,
		probeKey: probePrefix + newID() + ".",
		silence:  make(chan silence, 1),
		gate:     jskv.NewGate(),
		stopped:  make(chan struct{}),
	}
	if err := l.startWatch(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Keys returns the keys attached to lease id as this node's watcher knows
// them, sorted; nil for a lease it does not know (never granted, ended,
// or not seen yet: attachments made on any node reach the watcher
// asynchronously).
func (l *Leases) Keys(id string) []string { return l.table.keys(id) }

// Close stops the watcher (no onRevoke call starts after Close returns),
// ends the calls in progress (with an error wrapping [ErrClosed]) and
// waits for them and for the watcher; later calls return [ErrClosed]. Leases stay on the server until revoked or expired.
// Idempotent.
func (l *Leases) Close() error {
	l.gate.Close()
	<-l.stopped
	return nil
}

// begin registers a call as in flight, unless the Leases is closed or ctx
// has ended: it returns ctx bound to the Leases (Close ends it) and leave,
// which the caller must call when begin returns no error.
func (l *Leases) begin(ctx context.Context, op, id string) (context.Context, func(), error) {
	bound, leave, err := l.gate.Enter(ctx, ErrClosed)
	if err != nil {
		return nil, nil, fmt.Errorf("natslease: %s %s: %w", op, id, err)
	}
	return bound, leave, nil
}
