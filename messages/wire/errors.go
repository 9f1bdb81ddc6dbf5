package wire

import "errors"

// Errors returned by the codec, wrapped with context; test with errors.Is.
var (
	// ErrMalformed: the message is truncated, has trailing bytes, breaks
	// a bound, or sets flags this format does not define.
	ErrMalformed = errors.New("wire: malformed message")
	// ErrVersion: the message uses a format version this codec does not
	// know.
	ErrVersion = errors.New("wire: unknown format version")
	// ErrInvalid: Append was given envelopes that cannot be encoded
	// (no envelopes, mixed origins, a field over its bound).
	ErrInvalid = errors.New("wire: invalid envelope")
)
