package merge_test

import (
	"testing"

	"github.com/warpcache/warp/api/codec"
	"github.com/warpcache/warp/merge"
)

// roundTrip encodes v with c and decodes it back.
func roundTrip[T any](t *testing.T, c codec.Codec[T], v T) T {
	t.Helper()
	b, err := c.Append(nil, v)
	if err != nil {
		t.Fatalf("encode %v: %v", v, err)
	}
	out, err := c.Decode(b)
	if err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return out
}

// TestCRDTsEncode: every CRDT survives Warp's codecs unchanged.
func TestCRDTsEncode(t *testing.T) {
	t.Parallel()
	pn := merge.PNCounter{}.Inc("a", 7).Dec("b", 2)
	set := merge.ORSet[string]{}.Add("x", tag("a", 1)).Add("y", tag("b", 2)).Remove("x")
	r := merge.NewLWWRegister("v", 42, "a")
	tests := []struct {
		name string
		ok   func(t *testing.T) bool
	}{
		{"PNCounter CBOR", func(t *testing.T) bool { return pnEqual(roundTrip(t, codec.CBOR[merge.PNCounter]{}, pn), pn) }},
		{"PNCounter JSON", func(t *testing.T) bool { return pnEqual(roundTrip(t, codec.JSON[merge.PNCounter]{}, pn), pn) }},
		{"ORSet CBOR", func(t *testing.T) bool { return setEqual(roundTrip(t, codec.CBOR[merge.ORSet[string]]{}, set), set) }},
		{"ORSet JSON", func(t *testing.T) bool { return setEqual(roundTrip(t, codec.JSON[merge.ORSet[string]]{}, set), set) }},
		{"LWWRegister CBOR", func(t *testing.T) bool { return roundTrip(t, codec.CBOR[reg]{}, r) == r }},
		{"LWWRegister JSON", func(t *testing.T) bool { return roundTrip(t, codec.JSON[reg]{}, r) == r }},
		{"zero PNCounter CBOR", func(t *testing.T) bool {
			return pnEqual(roundTrip(t, codec.CBOR[merge.PNCounter]{}, merge.PNCounter{}), merge.PNCounter{})
		}},
		{"zero ORSet JSON", func(t *testing.T) bool {
			return roundTrip(t, codec.JSON[merge.ORSet[string]]{}, merge.ORSet[string]{}).Len() == 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !tt.ok(t) {
				t.Error("decoded value differs from the encoded one")
			}
		})
	}
}
