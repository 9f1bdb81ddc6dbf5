package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// CBOR encodes values as CBOR (RFC 8949) with github.com/fxamacker/cbor/v2.
// It is the default for types other than []byte and string: docs/codecs.md
// has the measurements behind that choice.
//
// The modes are set so that a value round-trips whenever it does through
// [JSON]: struct fields are named by their `cbor` tag, else their `json`
// tag, else their Go name; time.Time is written as RFC 3339 text with
// nanoseconds; types with MarshalText or MarshalJSON are encoded through
// them (MarshalText first, as the library orders them), and MarshalBinary
// is ignored, as JSON ignores it; strings that are not valid UTF-8 are kept byte for byte; nesting,
// array and map sizes are limited only as encoding/json limits them.
// docs/codecs.md lists where the decoded value differs from JSON's.
type CBOR[T any] struct{}

// Append implements [Codec].
func (CBOR[T]) Append(dst []byte, v T) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	if err := cborEnc.MarshalToBuffer(v, buf); err != nil {
		return dst, fmt.Errorf("%w: cbor: %w", ErrCodec, err)
	}
	return buf.Bytes(), nil
}

// Decode implements [Codec]. On failure it returns the zero T.
func (CBOR[T]) Decode(b []byte) (T, error) {
	var v T
	if err := cborDec.Unmarshal(b, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("%w: cbor: %w", ErrCodec, err)
	}
	return v, nil
}

// cborEnc and cborDec are built once; both are safe for concurrent use.
var (
	cborEnc = mustMode(cbor.EncOptions{
		// Map keys in a fixed order (RFC 8949 core deterministic): equal
		// values encode to equal bytes, which Txn.CompareAndSwap relies on.
		Sort:                    cbor.SortCoreDeterministic,
		Time:                    cbor.TimeRFC3339Nano,
		BinaryMarshaler:         cbor.BinaryMarshalerNone,
		TextMarshaler:           cbor.TextMarshalerTextString,
		JSONMarshalerTranscoder: transcoder(jsonToCBOR),
	}.UserBufferEncMode())
	cborDec = mustMode(cbor.DecOptions{
		MaxNestedLevels:           10000, // encoding/json's limit
		MaxArrayElements:          math.MaxInt32,
		MaxMapPairs:               math.MaxInt32,
		UTF8:                      cbor.UTF8DecodeInvalid,
		IntDec:                    cbor.IntDecConvertSignedOrBigInt,
		DefaultMapType:            reflect.TypeFor[map[string]any](),
		BinaryUnmarshaler:         cbor.BinaryUnmarshalerNone,
		TextUnmarshaler:           cbor.TextUnmarshalerTextString,
		JSONUnmarshalerTranscoder: transcoder(cborToJSON),
	}.DecMode())
)

func mustMode[M any](m M, err error) M {
	if err != nil {
		panic("codec: cbor options: " + err.Error())
	}
	return m
}

// transcoder adapts a function to [cbor.Transcoder].
type transcoder func(dst io.Writer, src io.Reader) error

func (f transcoder) Transcode(dst io.Writer, src io.Reader) error { return f(dst, src) }

// jsonToCBOR carries the output of a MarshalJSON method as a CBOR byte
// string, so that UnmarshalJSON gets exactly those bytes back.
func jsonToCBOR(dst io.Writer, src io.Reader) error {
	js, err := io.ReadAll(src)
	if err != nil {
		return err
	}
	b, err := cbor.Marshal(js)
	if err != nil {
		return err
	}
	_, err = dst.Write(b)
	return err
}

// cborToJSON gives UnmarshalJSON its input. The encoder prefers
// MarshalText to MarshalJSON, so a type with both arrives as a text
// string, which UnmarshalJSON gets as a JSON string; a byte string is the
// output of MarshalJSON, carried by jsonToCBOR.
func cborToJSON(dst io.Writer, src io.Reader) error {
	item, err := io.ReadAll(src)
	if err != nil {
		return err
	}
	var v any
	if err := cborItemDec.Unmarshal(item, &v); err != nil {
		return err
	}
	var js []byte
	switch v := v.(type) {
	case []byte:
		js = v
	case string:
		if js, err = json.Marshal(v); err != nil {
			return err
		}
	case nil:
		js = []byte("null")
	default:
		return fmt.Errorf("cannot pass CBOR %T to UnmarshalJSON", v)
	}
	_, err = dst.Write(js)
	return err
}

// cborItemDec reads the one item cborToJSON is given.
var cborItemDec = mustMode(cbor.DecOptions{UTF8: cbor.UTF8DecodeInvalid}.DecMode())
