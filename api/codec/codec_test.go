package codec_test

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warpcache/warp/api/codec"
)

// roundTrip encodes v behind a prefix, as Warp appends after its header,
// and decodes it back.
func roundTrip[T any](t *testing.T, c codec.Codec[T], v T) T {
	t.Helper()
	prefix := []byte("hdr")
	b, err := c.Append(append([]byte(nil), prefix...), v)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if string(b[:len(prefix)]) != string(prefix) {
		t.Fatalf("Append changed dst: got %q; want %q", b[:len(prefix)], prefix)
	}
	got, err := c.Decode(b[len(prefix):])
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return got
}

// structCodecs are the codecs offered for arbitrary types.
func structCodecs[T any]() []namedCodec[T] {
	return []namedCodec[T]{
		{"json", codec.JSON[T]{}},
		{"cbor", codec.CBOR[T]{}},
		{"default", codec.Default[T]()},
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	many := make([]string, 200_000) // past CBOR's stock limit of 131072 elements
	for i := range many {
		many[i] = "t"
	}
	users := []struct {
		name string
		v    user
	}{
		{"sample", sampleUser()},
		{"zero", user{}},
		{"nil tags", user{Name: "n", Tags: nil}},
		{"empty tags", user{Name: "e", Tags: []string{}}},
		{"unicode", user{Name: "Zoë Łukasz 名前 🚀", Email: "\u00e9\u0301@example.com", Tags: []string{"", "Ω"}}},
		{"extremes", user{ID: math.MinInt64, Age: math.MaxInt}},
		{"large string", user{Name: strings.Repeat("ab€", 1<<18)}},
		{"many elements", user{Tags: many}},
	}
	for _, nc := range structCodecs[user]() {
		for _, tc := range users {
			t.Run(nc.name+"/user/"+tc.name, func(t *testing.T) {
				t.Parallel()
				if got := roundTrip(t, nc.c, tc.v); !reflect.DeepEqual(got, tc.v) {
					t.Errorf("got %+.80v; want %+.80v", got, tc.v)
				}
			})
		}
	}
	catalogs := []struct {
		name string
		v    catalog
	}{
		{"sample", sampleCatalog()},
		{"zero", catalog{}},
		{"empty maps", catalog{Attrs: map[string]string{}, Counts: map[string]int64{}, Items: []item{}}},
	}
	for _, nc := range structCodecs[catalog]() {
		for _, tc := range catalogs {
			t.Run(nc.name+"/catalog/"+tc.name, func(t *testing.T) {
				t.Parallel()
				if got := roundTrip(t, nc.c, tc.v); !reflect.DeepEqual(got, tc.v) {
					t.Errorf("got %+v; want %+v", got, tc.v)
				}
			})
		}
	}
}

func TestRawCodecs(t *testing.T) {
	t.Parallel()
	for _, v := range [][]byte{nil, {}, {0, 0xff, 'a'}} {
		b := roundTrip(t, codec.Default[[]byte](), v)
		if string(b) != string(v) {
			t.Errorf("Bytes: got %q; want %q", b, v)
		}
	}
	for _, v := range []string{"", "plain", "名前 🚀", "\xff\xfe"} {
		if got := roundTrip(t, codec.Default[string](), v); got != v {
			t.Errorf("String: got %q; want %q", got, v)
		}
	}
}

func TestDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"[]byte", codec.Default[[]byte](), codec.Bytes{}},
		{"string", codec.Default[string](), codec.String{}},
		{"struct", codec.Default[user](), codec.CBOR[user]{}},
		{"pointer", codec.Default[*user](), codec.CBOR[*user]{}},
		{"any", codec.Default[any](), codec.CBOR[any]{}},
	} {
		if tc.got != tc.want {
			t.Errorf("Default[%s]() = %T; want %T", tc.name, tc.got, tc.want)
		}
	}
}

// garbage holds inputs that no offered codec may accept as a user.
func garbage(t *testing.T) map[string][]byte {
	t.Helper()
	js, _ := codec.JSON[user]{}.Append(nil, sampleUser())
	cb, _ := codec.CBOR[user]{}.Append(nil, sampleUser())
	return map[string][]byte{
		"nil":            nil,
		"empty":          {},
		"break byte":     {0xff},
		"reserved":       {0x1c},
		"truncated json": js[:len(js)/2],
		"truncated cbor": cb[:len(cb)/2],
		"cbor trailing":  append(cb[:len(cb):len(cb)], 0x00),
		"json as cbor":   []byte(`{"ID":1`),
		"huge length":    {0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"deep nesting":   []byte(strings.Repeat("\x81", 20_000) + strings.Repeat("[", 20_000)),
	}
}

func TestDecodeGarbage(t *testing.T) {
	t.Parallel()
	for _, nc := range structCodecs[user]() {
		for name, in := range garbage(t) {
			t.Run(nc.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				got, err := nc.c.Decode(in)
				if !errors.Is(err, codec.ErrCodec) {
					t.Fatalf("Decode(%.20q) error = %v; want one wrapping ErrCodec", in, err)
				}
				if !reflect.DeepEqual(got, user{}) {
					t.Errorf("Decode(%.20q) = %+v on error; want the zero user", in, got)
				}
			})
		}
	}
}

func TestEncodeErrorKeepsDst(t *testing.T) {
	t.Parallel()
	type bad struct{ C chan int }
	for _, nc := range structCodecs[bad]() {
		dst := []byte("hdr")
		got, err := nc.c.Append(dst, bad{C: make(chan int)})
		if !errors.Is(err, codec.ErrCodec) {
			t.Errorf("%s: Append(chan) error = %v; want one wrapping ErrCodec", nc.name, err)
		}
		if string(got) != "hdr" {
			t.Errorf("%s: Append(chan) = %q on error; want %q", nc.name, got, "hdr")
		}
	}
}

// secret has no exported fields: only its MarshalText carries its state.
type secret struct{ v string }

func (s secret) MarshalText() ([]byte, error)  { return []byte(s.v), nil }
func (s *secret) UnmarshalText(b []byte) error { s.v = string(b); return nil }

// opaque round-trips only through its JSON methods.
type opaque struct{ n int }

func (o opaque) MarshalJSON() ([]byte, error) { return []byte{'"', byte('a' + o.n), '"'}, nil }
func (o *opaque) UnmarshalJSON(b []byte) error {
	if len(b) != 3 {
		return errors.New("opaque: bad length")
	}
	o.n = int(b[1] - 'a')
	return nil
}

// money has every marshaler, like common decimal types; JSON uses only
// its JSON methods.
type money struct{ cents int64 }

func (m money) MarshalBinary() ([]byte, error) { return []byte{byte(m.cents)}, nil }
func (m *money) UnmarshalBinary(b []byte) error {
	return errors.New("money: UnmarshalBinary must not be called")
}
func (m money) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(m.cents, 10)), nil }
func (m *money) UnmarshalText(b []byte) (err error) {
	m.cents, err = strconv.ParseInt(string(b), 10, 64)
	return err
}
func (m money) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatInt(m.cents, 10)), nil
}
func (m *money) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return err
	}
	return m.UnmarshalText([]byte(s))
}

type embedded struct{ Inner string }

// rich exercises what users put in cached values beyond plain fields.
type rich struct {
	embedded
	Renamed  string `json:"renamed,omitempty"`
	Skipped  string `json:"-"`
	hidden   string
	When     time.Time
	Zero     time.Time
	Ptr      *int
	NilPtr   *int
	Big      uint64
	Small    int8
	Bytes    []byte
	Array    [4]byte
	IntKeys  map[int]string
	Secret   secret
	SecretBy map[secret]int
	Opaque   opaque
	Money    money
	MoneyPtr *money
	NilMoney *money
	Duration time.Duration
}

func sampleRich() rich {
	n := 7
	return rich{
		embedded: embedded{Inner: "in"}, Renamed: "r", Skipped: "s", hidden: "h",
		When: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 5*3600+1800)),
		Ptr:  &n, Big: math.MaxUint64, Small: -128,
		Bytes: []byte{0, 1, 2}, Array: [4]byte{9, 8, 7, 6},
		IntKeys: map[int]string{-1: "neg", 2: "two"},
		Secret:  secret{"s3"}, SecretBy: map[secret]int{{"k"}: 1},
		Opaque: opaque{n: 3}, Money: money{1234}, MoneyPtr: &money{-5}, Duration: 1500 * time.Millisecond,
	}
}

// TestSameAsJSON checks that CBOR decodes what JSON decodes for values
// JSON round-trips, including the fields JSON drops.
func TestSameAsJSON(t *testing.T) {
	t.Parallel()
	v := sampleRich()
	want := roundTrip(t, codec.JSON[rich]{}, v)
	got := roundTrip(t, codec.CBOR[rich]{}, v)
	if !got.When.Equal(want.When) || got.When.Format(time.RFC3339Nano) != want.When.Format(time.RFC3339Nano) {
		t.Errorf("When: got %v; want %v", got.When, want.When)
	}
	got.When, want.When = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v;\nwant %+v", got, want)
	}
	if want.Skipped != "" || want.hidden != "" {
		t.Errorf("JSON kept skipped or unexported fields: %+v", want)
	}
	if got.Money != v.Money || *got.MoneyPtr != *v.MoneyPtr || got.NilMoney != nil {
		t.Errorf("CBOR: money got %v %v %v; want %v %v nil", got.Money, got.MoneyPtr, got.NilMoney, v.Money, v.MoneyPtr)
	}
	if got.Secret != v.Secret || got.Opaque != v.Opaque || !reflect.DeepEqual(got.SecretBy, v.SecretBy) {
		t.Errorf("CBOR lost MarshalText or MarshalJSON state: got %+v %+v %v; want %+v %+v %v",
			got.Secret, got.Opaque, got.SecretBy, v.Secret, v.Opaque, v.SecretBy)
	}
}

// TestDifferencesFromJSON pins each difference docs/codecs.md lists.
func TestDifferencesFromJSON(t *testing.T) {
	t.Parallel()
	t.Run("invalid UTF-8 is kept", func(t *testing.T) {
		t.Parallel()
		v := user{Name: "a\xffb"}
		if got := roundTrip(t, codec.CBOR[user]{}, v); got.Name != v.Name {
			t.Errorf("CBOR: got %q; want %q", got.Name, v.Name)
		}
		if got := roundTrip(t, codec.JSON[user]{}, v); got.Name != "a\uFFFDb" {
			t.Errorf("JSON: got %q; want %q", got.Name, "a\uFFFDb")
		}
	})
	t.Run("NaN and Inf encode", func(t *testing.T) {
		t.Parallel()
		v := item{Price: math.Inf(-1)}
		if got := roundTrip(t, codec.CBOR[item]{}, v); !math.IsInf(got.Price, -1) {
			t.Errorf("CBOR: got %v; want -Inf", got.Price)
		}
		if _, err := (codec.JSON[item]{}).Append(nil, v); !errors.Is(err, codec.ErrCodec) {
			t.Errorf("JSON: Append(-Inf) error = %v; want ErrCodec", err)
		}
	})
	t.Run("any keeps integers", func(t *testing.T) {
		t.Parallel()
		v := map[string]any{"n": 1, "f": 1.5, "m": map[string]any{"k": "v"}, "b": []byte("x")}
		cb := roundTrip(t, codec.CBOR[map[string]any]{}, v)
		wantCBOR := map[string]any{"n": int64(1), "f": 1.5, "m": map[string]any{"k": "v"}, "b": []byte("x")}
		if !reflect.DeepEqual(cb, wantCBOR) {
			t.Errorf("CBOR: got %#v; want %#v", cb, wantCBOR)
		}
		js := roundTrip(t, codec.JSON[map[string]any]{}, v)
		wantJSON := map[string]any{"n": 1.0, "f": 1.5, "m": map[string]any{"k": "v"}, "b": "eA=="}
		if !reflect.DeepEqual(js, wantJSON) {
			t.Errorf("JSON: got %#v; want %#v", js, wantJSON)
		}
	})
	t.Run("any with non-string map keys", func(t *testing.T) {
		t.Parallel()
		v := []any{map[int]string{1: "a"}}
		_, err := codec.CBOR[[]any]{}.Decode(mustAppend(t, codec.CBOR[[]any]{}, v))
		if !errors.Is(err, codec.ErrCodec) {
			t.Errorf("CBOR: Decode error = %v; want ErrCodec", err)
		}
		js := roundTrip(t, codec.JSON[[]any]{}, v)
		if want := []any{map[string]any{"1": "a"}}; !reflect.DeepEqual(js, want) {
			t.Errorf("JSON: got %#v; want %#v", js, want)
		}
	})
	t.Run("map keys JSON rejects", func(t *testing.T) {
		t.Parallel()
		v := map[[2]int]bool{{1, 2}: true}
		if got := roundTrip(t, codec.CBOR[map[[2]int]bool]{}, v); !reflect.DeepEqual(got, v) {
			t.Errorf("CBOR: got %v; want %v", got, v)
		}
		if _, err := (codec.JSON[map[[2]int]bool]{}).Append(nil, v); !errors.Is(err, codec.ErrCodec) {
			t.Errorf("JSON: Append error = %v; want ErrCodec", err)
		}
	})
	t.Run("not readable as JSON", func(t *testing.T) {
		t.Parallel()
		b := mustAppend(t, codec.CBOR[user]{}, sampleUser())
		if _, err := (codec.JSON[user]{}).Decode(b); !errors.Is(err, codec.ErrCodec) {
			t.Errorf("JSON.Decode(CBOR bytes) error = %v; want ErrCodec", err)
		}
	})
}

func mustAppend[T any](t *testing.T, c codec.Codec[T], v T) []byte {
	t.Helper()
	b, err := c.Append(nil, v)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return b
}
