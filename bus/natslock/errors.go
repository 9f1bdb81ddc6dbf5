package natslock

import "errors"

// Errors returned by the package, wrapped with context; test with errors.Is.
var (
	// ErrLocked: the lock is held by someone else ([Locker.TryLock]).
	ErrLocked = errors.New("natslock: locked")
	// ErrNotHeld: the caller no longer holds the lock: it expired, was
	// taken over after expiry, or was already unlocked.
	ErrNotHeld = errors.New("natslock: not held")
	// ErrInvalid: a bad argument or configuration, such as a name that is
	// not a valid KV key, a negative TTL, or an existing bucket without
	// per-key TTLs.
	ErrInvalid = errors.New("natslock: invalid argument")
	// ErrClosed: the [Locker] is closed.
	ErrClosed = errors.New("natslock: closed")
)
