package codec_test

import (
	"errors"
	"testing"

	"github.com/warpcache/warp/api/codec"
)

// FuzzDecodeCBOR feeds arbitrary bytes to the default codec: Decode must
// never panic, must wrap ErrCodec when it fails, and what it decodes must
// encode again.
func FuzzDecodeCBOR(f *testing.F) {
	for _, c := range []struct {
		v any
	}{{sampleUser()}, {sampleCatalog()}, {sampleRich()}, {map[string]any{"a": []any{1, "x"}}}} {
		b, err := codec.CBOR[any]{}.Append(nil, c.v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{0xbf, 0x61, 'a', 0x9f, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzDecode(t, codec.CBOR[user]{}, b)
		fuzzDecode(t, codec.CBOR[catalog]{}, b)
		fuzzDecode(t, codec.CBOR[rich]{}, b)
		fuzzDecode(t, codec.CBOR[any]{}, b)
	})
}

// FuzzDecodeJSON is FuzzDecodeCBOR for [codec.JSON].
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"ID":1,"Name":"n","Tags":["a",null]}`))
	f.Add([]byte(`{"Items":[{"Labels":{"k":"v"}}],"Updated":"2026-01-02T03:04:05Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzDecode(t, codec.JSON[user]{}, b)
		fuzzDecode(t, codec.JSON[catalog]{}, b)
		fuzzDecode(t, codec.JSON[any]{}, b)
	})
}

func fuzzDecode[T any](t *testing.T, c codec.Codec[T], b []byte) {
	in := append([]byte(nil), b...) // Decode owns its input
	v, err := c.Decode(in)
	if err != nil {
		if !errors.Is(err, codec.ErrCodec) {
			t.Fatalf("Decode(%q) error = %v; want one wrapping ErrCodec", b, err)
		}
		return
	}
	if _, err := c.Append(nil, v); err != nil {
		t.Fatalf("Append(Decode(%q)) = %v; want it to encode again", b, err)
	}
}
