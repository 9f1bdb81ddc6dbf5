package store

import "errors"

// Errors returned by stores, wrapped with context; test with errors.Is.
var (
	// ErrNotFound: the key does not exist or was deleted.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a checked write found another version than expected.
	ErrConflict = errors.New("store: version conflict")
	// ErrFenced: a write carried an older fencing token than one the store
	// has accepted for the key.
	ErrFenced = errors.New("store: stale fencing token")
	// ErrTooLarge: a key or value is over the store's limit.
	ErrTooLarge = errors.New("store: too large")
	// ErrInvalid: malformed input, such as an empty key or an unknown op.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrNotAtomic: the store cannot apply several writes atomically.
	ErrNotAtomic = errors.New("store: multi-key commit is not atomic on this store")
	// ErrHistory: the version asked for is older than the retained history.
	ErrHistory = errors.New("store: version older than retained history")
	// ErrNotMember: a guarded write's writer, or a renewing node, holds no
	// membership record under its incarnation (see [Guard]).
	ErrNotMember = errors.New("store: not a member")
)
