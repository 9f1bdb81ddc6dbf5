package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// testKey returns a key with id whose secret is 32 copies of fill.
func testKey(id, fill byte) Key {
	return Key{ID: id, Secret: bytes.Repeat([]byte{fill}, MinSecretLen)}
}

func mustKeyring(t testing.TB, cluster string, keys ...Key) *Keyring {
	t.Helper()
	kr, err := NewKeyring(cluster, keys...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return kr
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	kr := mustKeyring(t, "c1", testKey(1, 'a'), testKey(2, 'b'))
	for _, size := range []int{0, 1, 40, 1 << 10, 64 << 10} {
		msg := bytes.Repeat([]byte{0x5a}, size)
		sealed := kr.Seal([]byte("pre"), msg)
		if got, want := len(sealed), len("pre")+SealOverhead+size; got != want {
			t.Fatalf("size %d: sealed length %d; want %d", size, got, want)
		}
		if string(sealed[:3]) != "pre" || sealed[3] != SealFormat || sealed[4] != 1 {
			t.Fatalf("size %d: header %x; want pre, %#x, key 1", size, sealed[:5], SealFormat)
		}
		got, err := kr.Open(sealed[3:])
		if err != nil {
			t.Fatalf("size %d: Open: %v", size, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("size %d: got %d bytes back; want the %d sealed", size, len(got), size)
		}
	}
}

// Seal works in place on a message built after room for the header.
func TestSealInPlace(t *testing.T) {
	t.Parallel()
	kr := mustKeyring(t, "c1", testKey(1, 'a'))
	buf := make([]byte, SealHeaderLen, 256)
	buf, err := Append(buf, Envelope{Origin: "n1", Epoch: 3, Op: OpInvalidate, Seq: 1, Key: "user:1", Version: 9})
	if err != nil {
		t.Fatal(err)
	}
	want := kr.Seal(nil, buf[SealHeaderLen:])
	got := kr.Seal(buf[:0], buf[SealHeaderLen:])
	if !bytes.Equal(got, want) {
		t.Fatalf("in place: got %x; want %x", got, want)
	}
	if &got[0] != &buf[0] {
		t.Fatal("in place: Seal copied to a new array although dst had room")
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	kr := mustKeyring(t, "c1", testKey(1, 'a'), testKey(2, 'b'))
	msg, err := Append(nil, Envelope{Origin: "n1", Epoch: 3, Op: OpInvalidate, Seq: 1, Key: "k", Version: 9})
	if err != nil {
		t.Fatal(err)
	}
	good := kr.Seal(nil, msg)
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name   string
		sealed []byte
		want   error
		reason string
	}{
		{"empty", nil, ErrSealTruncated, "truncated"},
		{"unsealed wire message", msg, ErrSealFormat, "format"},
		{"header only", good[:SealHeaderLen], ErrSealTruncated, "truncated"},
		{"one byte short of a tag", good[:SealOverhead-1], ErrSealTruncated, "truncated"},
		{"unknown key id", edit(func(b []byte) []byte { b[1] = 7; return b }), ErrUnknownKey, "unknown_key"},
		{"other known key id", edit(func(b []byte) []byte { b[1] = 2; return b }), ErrBadMAC, "bad_mac"},
		{"flipped message bit", edit(func(b []byte) []byte { b[SealHeaderLen] ^= 1; return b }), ErrBadMAC, "bad_mac"},
		{"flipped tag bit", edit(func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }), ErrBadMAC, "bad_mac"},
		{"tag cut short", good[:len(good)-1], ErrBadMAC, "bad_mac"},
		{"byte appended", append(append([]byte(nil), good...), 0), ErrBadMAC, "bad_mac"},
		{"other cluster", mustKeyring(t, "c2", testKey(1, 'a')).Seal(nil, msg), ErrBadMAC, "bad_mac"},
		{"other secret, same id", mustKeyring(t, "c1", testKey(1, 'z')).Seal(nil, msg), ErrBadMAC, "bad_mac"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := kr.Open(tt.sealed)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("got %x, %v; want nil, %v", got, err, tt.want)
			}
			if r := RejectReason(err); r != tt.reason {
				t.Fatalf("RejectReason: got %q; want %q", r, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Fatalf("got message %q; want the package prefix", err)
			}
		})
	}
}

// A rotation from key A to key B in three rolling steps never leaves two
// nodes of neighbouring steps unable to read each other.
func TestRotation(t *testing.T) {
	t.Parallel()
	a, b := testKey(1, 'a'), testKey(2, 'b')
	steps := []*Keyring{
		mustKeyring(t, "c", a),
		mustKeyring(t, "c", a, b),
		mustKeyring(t, "c", b, a),
		mustKeyring(t, "c", b),
	}
	for i := range len(steps) - 1 {
		for _, pair := range [][2]*Keyring{{steps[i], steps[i+1]}, {steps[i+1], steps[i]}} {
			sealed := pair[0].Seal(nil, []byte("hello"))
			if got, err := pair[1].Open(sealed); err != nil || string(got) != "hello" {
				t.Errorf("step %d: sealed under %v, opened under %v: got %q, %v; want hello",
					i, pair[0].KeyIDs(), pair[1].KeyIDs(), got, err)
			}
		}
	}
	if _, err := steps[3].Open(steps[0].Seal(nil, []byte("x"))); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("retired key: got %v; want ErrUnknownKey", err)
	}
}

func TestNewKeyringInvalid(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s3cr3t", 20)
	long := Key{ID: 1, Secret: []byte(strings.Repeat("s3cr3t", 200))}
	short := Key{ID: 1, Secret: []byte(secret[:MinSecretLen-1])}
	tests := []struct {
		name    string
		cluster string
		keys    []Key
	}{
		{"no cluster", "", []Key{testKey(1, 'a')}},
		{"long cluster", strings.Repeat("c", MaxClusterLen+1), []Key{testKey(1, 'a')}},
		{"no keys", "c", nil},
		{"three keys", "c", []Key{testKey(1, 'a'), testKey(2, 'b'), testKey(3, 'c')}},
		{"duplicate id", "c", []Key{testKey(1, 'a'), testKey(1, 'b')}},
		{"short secret", "c", []Key{short}},
		{"long secret", "c", []Key{long}},
		{"empty secret", "c", []Key{{ID: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kr, err := NewKeyring(tt.cluster, tt.keys...)
			if !errors.Is(err, ErrBadKey) || kr != nil {
				t.Fatalf("got %v, %v; want nil, ErrBadKey", kr, err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error %q shows the secret", err)
			}
		})
	}
}

// The keyring keeps no reference to the caller's secret.
func TestKeyringCopiesSecret(t *testing.T) {
	t.Parallel()
	k := testKey(1, 'a')
	kr := mustKeyring(t, "c", k)
	want := mustKeyring(t, "c", testKey(1, 'a')).Seal(nil, []byte("m"))
	clear(k.Secret)
	if got := kr.Seal(nil, []byte("m")); !bytes.Equal(got, want) {
		t.Fatalf("after zeroing the caller's secret: got %x; want %x", got, want)
	}
}

func TestKeyringAccessors(t *testing.T) {
	t.Parallel()
	kr := mustKeyring(t, "orders", testKey(9, 'a'), testKey(4, 'b'))
	if kr.Cluster() != "orders" || !bytes.Equal(kr.KeyIDs(), []byte{9, 4}) {
		t.Fatalf("got %q, %v; want orders, [9 4]", kr.Cluster(), kr.KeyIDs())
	}
}

// TestSealOpenAllocates: Seal into a buffer with room and Open, accepted or
// rejected, allocate nothing. `make allocs` style: skipped under -race.
func TestSealOpenAllocates(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts include the race detector's; run without -race")
	}
	kr := mustKeyring(t, "c1", testKey(1, 'a'), testKey(2, 'b'))
	msg := bytes.Repeat([]byte{1}, 1<<10)
	buf := make([]byte, 0, 2<<10)
	sealed := kr.Seal(nil, msg)
	forged := append([]byte(nil), sealed...)
	forged[10] ^= 1
	for name, f := range map[string]func(){
		"Seal":        func() { buf = kr.Seal(buf[:0], msg) },
		"Open":        func() { _, _ = kr.Open(sealed) },
		"Open forged": func() { _, _ = kr.Open(forged) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per call; want 0", name, n)
		}
	}
}

func TestRejectReason(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		ErrMalformed:       "malformed",
		ErrVersion:         "version",
		errors.New("what"): "other",
		nil:                "other",
	} {
		if got := RejectReason(err); got != want {
			t.Errorf("RejectReason(%v): got %q; want %q", err, got, want)
		}
	}
}
