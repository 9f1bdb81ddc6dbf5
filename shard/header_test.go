package shard

import (
	"bytes"
	"errors"
	"testing"

	"github.com/warpcache/warp/merge"
)

func TestHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	h := Header{Version: merge.Version(1<<40 | 7), Expiry: -5, Epoch: 9, Flags: FlagStrong}
	entry := append(AppendHeader(nil, h), "value"...)
	got, v, err := ParseHeader(entry)
	if err != nil || got != h || string(v) != "value" {
		t.Fatalf("ParseHeader = %+v, %q, %v; want %+v, value", got, v, err, h)
	}
	for _, bad := range [][]byte{nil, {headerFormat}, append([]byte{9}, entry[1:]...)} {
		if _, _, err := ParseHeader(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ParseHeader(%x) err = %v; want ErrCorrupt", bad, err)
		}
	}
}

func FuzzHeader(f *testing.F) {
	f.Add(AppendHeader(nil, Header{Version: 3, Expiry: 4, Epoch: 5, Flags: 1}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, v, err := ParseHeader(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		again := append(AppendHeader(nil, h), v...)
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %x gave %x", b, again)
		}
	})
}
