// Package codec turns values of a Warp cache's type T into bytes and back.
// The L1 cache (bigcache) and the byte-oriented store adapters hold encoded
// values; [Bytes] and [String] are zero-cost, [JSON] is the default for
// everything else (see docs/core.md for the measurement behind that choice).
package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"unsafe"
)

// ErrCodec wraps every encoding and decoding failure.
var ErrCodec = errors.New("codec: cannot encode or decode value")

// Codec encodes and decodes values of type T.
//
// Append appends the encoding of v to dst and returns the extended slice.
// Decode decodes b; it takes ownership of b, which the caller will not
// modify afterwards, so a decoder may return values that alias it.
type Codec[T any] interface {
	Append(dst []byte, v T) ([]byte, error)
	Decode(b []byte) (T, error)
}

// Bytes is the codec for []byte: the encoding is the bytes themselves.
type Bytes struct{}

// Append implements [Codec].
func (Bytes) Append(dst, v []byte) ([]byte, error) { return append(dst, v...), nil }

// Decode implements [Codec]; it returns b itself.
func (Bytes) Decode(b []byte) ([]byte, error) { return b, nil }

// String is the codec for string: the encoding is the string's bytes.
type String struct{}

// Append implements [Codec].
func (String) Append(dst []byte, v string) ([]byte, error) { return append(dst, v...), nil }

// Decode implements [Codec]; the string shares b's memory, which is safe
// because Decode owns b.
func (String) Decode(b []byte) (string, error) {
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

// JSON encodes values with encoding/json.
type JSON[T any] struct{}

// Append implements [Codec].
func (JSON[T]) Append(dst []byte, v T) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("%w: json: %w", ErrCodec, err)
	}
	return append(dst, b...), nil
}

// Decode implements [Codec].
func (JSON[T]) Decode(b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("%w: json: %w", ErrCodec, err)
	}
	return v, nil
}

// Default returns the codec Warp uses for T when none is given: [Bytes] for
// []byte, [String] for string, and [JSON] otherwise.
func Default[T any]() Codec[T] {
	var zero T
	switch any(zero).(type) {
	case []byte:
		return any(Bytes{}).(Codec[T])
	case string:
		return any(String{}).(Codec[T])
	default:
		return JSON[T]{}
	}
}
