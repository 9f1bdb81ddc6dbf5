package shard

import "errors"

// Errors returned by a shard.
var (
	// ErrCorrupt: an entry's header is malformed.
	ErrCorrupt = errors.New("shard: corrupt entry")
	// ErrRestarted: the shard panicked while handling the request and was
	// restarted empty; the request was not applied.
	ErrRestarted = errors.New("shard: restarted after a panic")
	// ErrStopped: the shard stopped before it could grant a key lock.
	ErrStopped = errors.New("shard: stopped")
	// ErrTooLarge: the entry does not fit in the shard's memory bound.
	ErrTooLarge = errors.New("shard: entry too large for the cache")
)
