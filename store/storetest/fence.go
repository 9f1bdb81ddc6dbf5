package storetest

import (
	"testing"

	"github.com/warpcache/warp/store"
)

func testFence(t *testing.T, h Harness) {
	f := func(token uint64) store.Write { return store.Write{Fence: token} }
	tests := map[string][]step{
		"FloorMoves": {
			{val: "a", w: f(5)},
			{val: "b", w: f(4), err: store.ErrFenced},
			{val: "c", w: f(5)},
			{val: "d", w: f(7)},
			{val: "e", w: f(6), err: store.ErrFenced},
			{val: "f", w: f(5), err: store.ErrFenced},
			{val: "g", w: f(7)},
		},
		"UnfencedWritesPass": {
			{val: "a", w: f(9)},
			{val: "b"},
			{val: "c", w: f(8), err: store.ErrFenced},
			{val: "d", w: f(9)},
		},
		"Delete": {
			{val: "a", w: f(3)},
			{del: true, w: f(2), err: store.ErrFenced},
			{del: true, w: f(4)},
			{val: "b", w: f(3), err: store.ErrFenced},
			{val: "b", w: f(4)},
		},
		"WithCheck": {
			{val: "a", w: store.Write{Fence: 2, Check: true}, want: 1},
			{val: "b", w: store.Write{Fence: 2, Check: true, IfVersion: 1}, want: 2},
			{val: "c", w: store.Write{Fence: 1, Check: true, IfVersion: 2}, err: store.ErrFenced},
			{val: "c", w: store.Write{Fence: 3, Check: true, IfVersion: 1}, err: store.ErrConflict},
			{val: "c", w: store.Write{Fence: 3, Check: true, IfVersion: 2}, want: 3},
		},
		// A write that is both stale and fenced is reported as stale: the
		// caller must reread before anything else (stores.md, "Fencing").
		"StaleAndFenced": {
			{val: "a", w: store.Write{Fence: 5}, want: 1},
			{val: "b", w: store.Write{Fence: 5}, want: 2},
			{val: "c", w: store.Write{Fence: 4, Check: true, IfVersion: 1}, err: store.ErrConflict},
			{del: true, w: store.Write{Fence: 4, Check: true, IfVersion: 1}, err: store.ErrConflict},
			{val: "c", w: store.Write{Fence: 4, Check: true}, err: store.ErrConflict},
			{val: "c", w: store.Write{Fence: 4, Check: true, IfVersion: 2}, err: store.ErrFenced},
		},
		"LargeTokens": {
			{val: "a", w: f(1 << 62)},
			{val: "b", w: f(1<<62 - 1), err: store.ErrFenced},
			{val: "c", w: f(1<<62 + 1)},
		},
	}
	for name, steps := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			apply(t, h.New(t), "k", steps)
		})
	}
}
