package natslease

import "errors"

// Errors returned by the package, wrapped with context; test with errors.Is.
var (
	// ErrNotFound: the lease does not exist: it was never granted, was
	// revoked, or expired.
	ErrNotFound = errors.New("natslease: lease not found")
	// ErrInvalid: a bad argument or configuration, such as a malformed
	// lease id, an empty or too long key, a negative TTL, or an existing
	// bucket without per-key TTLs.
	ErrInvalid = errors.New("natslease: invalid argument")
	// ErrTooManyKeys: the lease has [Config.MaxAttachments] keys attached
	// already (Attach), or more on the server (KeepAlive, which then
	// revokes it).
	ErrTooManyKeys = errors.New("natslease: too many keys attached")
	// ErrClosed: the [Leases] is closed.
	ErrClosed = errors.New("natslease: closed")
)
