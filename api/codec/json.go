package codec

import (
	"encoding/json"
	"fmt"
)

// JSON encodes values with encoding/json. It was the default before [CBOR]
// and stays available for values that must be readable as text in a store,
// or shared with programs that do not speak CBOR.
type JSON[T any] struct{}

// Append implements [Codec].
func (JSON[T]) Append(dst []byte, v T) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("%w: json: %w", ErrCodec, err)
	}
	return append(dst, b...), nil
}

// Decode implements [Codec]. On failure it returns the zero T.
func (JSON[T]) Decode(b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("%w: json: %w", ErrCodec, err)
	}
	return v, nil
}
