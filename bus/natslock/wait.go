package natslock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// pollReadTimeout bounds a waiter's poll read when MarkerTTL is longer:
// JetStream's default request timeout, which bounded it before.
const pollReadTimeout = 5 * time.Second

// wait watches the key and tries to acquire it whenever it may be free: a
// delete or purge marker (an Unlock, or the server's marker when the TTL
// ran out), or an initial state without any entry. A put means someone
// holds it, so the waiter keeps waiting. The server removes a marker
// MarkerTTL after writing it, so a waiter cut off from the server (or
// paused) for longer than that never receives it; so every MarkerTTL the
// waiter also reads the key, and tries to acquire it if it is absent.
func (l *Locker) wait(ctx context.Context, name string, ttl time.Duration) (*Lock, error) {
	// The watch has a context of its own, which ends it whatever ends the
	// wait (jskv.EndWatch: a Stop would wait for the server to delete its
	// consumer, 5 s while cut off, and the waiter's Close or acquired lock
	// with it). Drained: a full channel would block the client's delivery.
	w, end, err := jskv.Watch(ctx, l.kv, name, jetstream.MetaOnly())
	if err != nil {
		return nil, opError(ctx, "lock", name, err)
	}
	defer jskv.EndWatch(end, w)
	if l.waiting != nil {
		l.waiting(name)
	}
	replayed := false // an entry arrived before the end-of-replay nil
	poll := time.NewTicker(l.markerTTL)
	defer poll.Stop()
	for {
		var free bool // the key may be free: try to acquire it
		select {
		case <-poll.C:
			free = l.mayBeAbsent(ctx, name)
		case <-ctx.Done():
			// ctx is bound to the gate: a Close ends it too, with
			// ErrClosed as its cause, which opError wraps (Done, or
			// the watch the ending ctx stops, may win the race).
			return nil, opError(ctx, "lock", name, ctx.Err())
		case <-l.gate.Done():
			return nil, fmt.Errorf("natslock: lock %q: %w", name, ErrClosed)
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					// The client stops the watch when its context
					// (ctx) ends: that is the ctx's end or a Close.
					return nil, opError(ctx, "lock", name, ctx.Err())
				}
				return nil, fmt.Errorf("natslock: lock %q: watch stopped (connection closed?)", name)
			}
			free = mayBeFree(e, &replayed)
		}
		if !free {
			continue
		}
		k, err := l.acquire(ctx, name, ttl)
		if !errors.Is(err, ErrLocked) {
			return k, err
		}
	}
}

// mayBeFree reports whether a watch event says the key may be free.
func mayBeFree(e jetstream.KeyValueEntry, replayed *bool) bool {
	if e == nil { // end of the initial replay
		return !*replayed
	}
	*replayed = true
	op := e.Operation()
	return op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge
}

// mayBeAbsent reads name's entry: true if there is none (or a marker). A
// read that fails (the server unreachable) is false: the waiter waits on,
// as it does for markers, and reads again at the next poll. The poll gets
// one MarkerTTL, at most pollReadTimeout: a read lost with its connection
// would otherwise hold the waiter, deaf to markers, until ctx ends. It
// proves the connection with a PING before it reads: a read sent while the
// client reconnects waits in its buffer, and a long cut would end with
// the reads of every poll in it reaching the server at once.
func (l *Locker) mayBeAbsent(ctx context.Context, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, min(l.markerTTL, pollReadTimeout))
	defer cancel()
	if err := l.js.Conn().FlushWithContext(ctx); err != nil {
		return false
	}
	e, err := l.kv.Get(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return true
	case err != nil:
		return false
	}
	return e.Operation() != jetstream.KeyValuePut
}
