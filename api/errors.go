package api

import "errors"

// Errors returned by Warp, wrapped with context; test with errors.Is.
var (
	// ErrNotFound: the key is in neither the cache nor the store.
	ErrNotFound = errors.New("warp: not found")
	// ErrUnregistered: no registration covers the key.
	ErrUnregistered = errors.New("warp: key not registered")
	// ErrClosed: the instance was closed.
	ErrClosed = errors.New("warp: closed")
	// ErrInvalidKey: the key is empty or longer than MaxKeyLen.
	ErrInvalidKey = errors.New("warp: invalid key")
	// ErrTooLarge: the encoded value is over the instance's MaxValueSize.
	ErrTooLarge = errors.New("warp: value too large")
	// ErrInvalidTTL: a TTL is zero or negative.
	ErrInvalidTTL = errors.New("warp: invalid TTL")
	// ErrConflict: the key or pattern is already registered with another
	// mode.
	ErrConflict = errors.New("warp: conflicting registration")
	// ErrPattern: a registration pattern is malformed.
	ErrPattern = errors.New("warp: malformed pattern")
	// ErrLoader: the store or the codec failed or panicked while loading a
	// key.
	ErrLoader = errors.New("warp: loader failed")
	// ErrCodec: the codec could not encode or decode a value. During a
	// load the error wraps ErrLoader too.
	ErrCodec = errors.New("warp: codec failed")
	// ErrQuorum: a StrongDistributed write was not acknowledged by enough
	// peers in time.
	ErrQuorum = errors.New("warp: quorum not reached")
	// ErrConfig: an option is invalid.
	ErrConfig = errors.New("warp: invalid configuration")
)
