package storetest

import (
	"testing"

	"github.com/warpcache/warp/store"
)

func testCAS(t *testing.T, h Harness) {
	cas := func(v uint64) store.Write { return store.Write{Check: true, IfVersion: versionOf(v)} }
	tests := map[string][]step{
		"CreateIfAbsent": {
			{val: "a", w: cas(0), want: 1},
			{val: "b", w: cas(0), err: store.ErrConflict},
		},
		"SwapCurrent": {
			{val: "a", want: 1},
			{val: "b", w: cas(1), want: 2},
			{val: "c", w: cas(1), err: store.ErrConflict},
			{val: "c", w: cas(3), err: store.ErrConflict},
			{val: "c", w: cas(2), want: 3},
		},
		"WithMin": {
			{val: "a", w: store.Write{Check: true, Min: 50}, want: 50},
			{val: "b", w: store.Write{Check: true, IfVersion: 50, Min: 10}, want: 51},
			{val: "c", w: store.Write{Check: true, IfVersion: 50, Min: 100}, err: store.ErrConflict},
		},
		"MissingWithVersion": {
			{val: "a", w: cas(7), err: store.ErrConflict},
			{del: true, w: cas(7), err: store.ErrConflict},
		},
		"Delete": {
			{val: "a", want: 1},
			{del: true, w: cas(0), err: store.ErrConflict},
			{del: true, w: cas(2), err: store.ErrConflict},
			{del: true, w: cas(1), want: 2},
			{del: true, w: cas(1), err: store.ErrConflict},
			{val: "b", w: cas(2), want: 3},
		},
		"DeleteMissing": {
			{del: true, w: cas(0), want: 1},
			{val: "a", w: cas(0), err: store.ErrConflict},
		},
	}
	for name, steps := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			apply(t, h.New(t), "k", steps)
		})
	}
}
