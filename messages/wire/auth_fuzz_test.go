package wire

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen: Open never panics and rejects with one of its sentinels; what
// opens re-seals to the same bytes; a message sealed here opens to itself,
// and flipping any single bit of it makes Open fail.
func FuzzOpen(f *testing.F) {
	a, b := testKey(1, 'a'), testKey(2, 'b')
	kr := mustKeyring(f, "fuzz", a, b)
	resealers := map[byte]*Keyring{1: mustKeyring(f, "fuzz", a), 2: mustKeyring(f, "fuzz", b)}
	msg, _ := Append(nil, Envelope{Origin: "n1", Epoch: 1, Op: OpInvalidate, Seq: 1, Key: "k", Version: 1})
	f.Add(kr.Seal(nil, msg), msg, uint(0))
	f.Add(resealers[2].Seal(nil, nil), []byte{}, uint(7))
	f.Add([]byte{SealFormat, 1}, []byte("x"), uint(1000))
	f.Add([]byte{FormatVersion}, bytes.Repeat([]byte{0xff}, 300), uint(12345))
	f.Fuzz(func(t *testing.T, in, msg []byte, bit uint) {
		if got, err := kr.Open(in); err != nil {
			if RejectReason(err) == "other" {
				t.Fatalf("Open: error %v wraps no sentinel", err)
			}
		} else if again := resealers[in[1]].Seal(nil, got); !bytes.Equal(again, in) {
			t.Fatalf("re-sealed %x to %x; want the input back", in, again)
		}

		sealed := kr.Seal(nil, msg)
		got, err := kr.Open(sealed)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("Open(Seal(%x)): got %x, %v; want the message back", msg, got, err)
		}
		bit %= uint(len(sealed) * 8)
		sealed[bit/8] ^= 1 << (bit % 8)
		if got, err := kr.Open(sealed); err == nil {
			t.Fatalf("flipped bit %d: Open returned %x, nil; want an error", bit, got)
		} else if errors.Is(err, ErrSealTruncated) {
			t.Fatalf("flipped bit %d: got %v; a flip does not change the length", bit, err)
		}
	})
}
