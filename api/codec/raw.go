package codec

import "unsafe"

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
