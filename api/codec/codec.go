package codec

// Codec encodes and decodes values of type T.
//
// Append appends the encoding of v to dst and returns the extended slice.
// Decode decodes b; it takes ownership of b, which the caller will not
// modify afterwards, so a decoder may return values that alias it.
type Codec[T any] interface {
	Append(dst []byte, v T) ([]byte, error)
	Decode(b []byte) (T, error)
}

// Default returns the codec Warp uses for T when none is given: [Bytes] for
// []byte, [String] for string, and [CBOR] otherwise.
func Default[T any]() Codec[T] {
	var zero T
	switch any(zero).(type) {
	case []byte:
		return any(Bytes{}).(Codec[T])
	case string:
		return any(String{}).(Codec[T])
	default:
		return CBOR[T]{}
	}
}
