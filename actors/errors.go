package actors

import "errors"

// Errors returned by the actors package.
var (
	// ErrClosed: the node or router is closed.
	ErrClosed = errors.New("actors: closed")
	// ErrConfig: a configuration value is invalid.
	ErrConfig = errors.New("actors: invalid configuration")
)
