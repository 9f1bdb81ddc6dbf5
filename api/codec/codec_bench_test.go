package codec_test

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/warpcache/warp/api/codec"
)

// Run the figures in docs/codecs.md with
//
//	go test -run '^$' -bench . -benchmem -count 6 ./api/codec/ | benchstat -col /codec -
//
// Every codec is measured in the same process; docs/codecs.md gives the
// medians as ratios to encoding/json.

// user is a small, flat value.
type user struct {
	ID    int64
	Name  string
	Email string
	Age   int
	Admin bool
	Tags  []string
}

// catalog is a nested, map-heavy value.
type catalog struct {
	ID      int64
	Owner   user
	Updated time.Time
	Attrs   map[string]string
	Counts  map[string]int64
	Items   []item
}

type item struct {
	SKU    string
	Qty    int
	Price  float64
	Labels map[string]string
}

func sampleUser() user {
	return user{ID: 421337, Name: "Ada Lovelace", Email: "ada@example.com", Age: 36, Admin: true,
		Tags: []string{"math", "engines", "poetry"}}
}

func sampleCatalog() catalog {
	c := catalog{
		ID: 9001, Owner: sampleUser(),
		Updated: time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC),
		Attrs:   map[string]string{}, Counts: map[string]int64{},
	}
	for i := range 8 {
		k := "key" + strconv.Itoa(i)
		c.Attrs[k] = "value number " + strconv.Itoa(i)
		c.Counts[k] = int64(i) * 1_000_003
	}
	for i := range 6 {
		c.Items = append(c.Items, item{
			SKU: fmt.Sprintf("SKU-%05d", i), Qty: i + 1, Price: 9.99 * float64(i+1),
			Labels: map[string]string{"color": "blue", "size": "L"},
		})
	}
	return c
}

// gobCodec encodes every value with a fresh encoder, as Warp encodes values
// independently: each encoding carries gob's type description.
type gobCodec[T any] struct{}

func (gobCodec[T]) Append(dst []byte, v T) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	if err := gob.NewEncoder(buf).Encode(v); err != nil {
		return dst, fmt.Errorf("%w: gob: %w", codec.ErrCodec, err)
	}
	return buf.Bytes(), nil
}

func (gobCodec[T]) Decode(b []byte) (T, error) {
	var v T
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&v); err != nil {
		var zero T
		return zero, fmt.Errorf("%w: gob: %w", codec.ErrCodec, err)
	}
	return v, nil
}

// msgpackCodec uses msgpack's package-level functions (structs as maps).
type msgpackCodec[T any] struct{}

func (msgpackCodec[T]) Append(dst []byte, v T) ([]byte, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("%w: msgpack: %w", codec.ErrCodec, err)
	}
	return append(dst, b...), nil
}

func (msgpackCodec[T]) Decode(b []byte) (T, error) {
	var v T
	if err := msgpack.Unmarshal(b, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("%w: msgpack: %w", codec.ErrCodec, err)
	}
	return v, nil
}

type namedCodec[T any] struct {
	name string
	c    codec.Codec[T]
}

func benchCodecs[T any]() []namedCodec[T] {
	return []namedCodec[T]{
		{"json", codec.JSON[T]{}},
		{"cbor", codec.CBOR[T]{}},
		{"msgpack", msgpackCodec[T]{}},
		{"gob", gobCodec[T]{}},
	}
}

func BenchmarkUser(b *testing.B)    { benchValue(b, sampleUser()) }
func BenchmarkCatalog(b *testing.B) { benchValue(b, sampleCatalog()) }

// benchValue measures encode, decode and a round trip of v with every
// codec, and reports the encoded size. Encoding appends to a reused buffer,
// as Warp's L1 does; decoding gets a fresh copy, as Decode owns its input.
func benchValue[T any](b *testing.B, v T) {
	for _, nc := range benchCodecs[T]() {
		enc, err := nc.c.Append(nil, v)
		if err != nil {
			b.Fatalf("%s: Append: %v", nc.name, err)
		}
		b.Run("op=encode/codec="+nc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 2*len(enc))
			for b.Loop() {
				if _, err := nc.c.Append(buf[:0], v); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "bytes")
		})
		b.Run("op=decode/codec="+nc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := nc.c.Decode(enc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "bytes")
		})
		b.Run("op=roundtrip/codec="+nc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 2*len(enc))
			for b.Loop() {
				e, err := nc.c.Append(buf[:0], v)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := nc.c.Decode(e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "bytes")
		})
	}
}
