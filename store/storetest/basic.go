package storetest

import (
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

func testBasic(t *testing.T, h Harness) {
	subtests(t, h, map[string]func(*testing.T, store.Store[[]byte]){
		"Missing": func(t *testing.T, s store.Store[[]byte]) {
			mustMiss(t, s, "missing")
			if v := version(t, s, "missing"); v != 0 {
				t.Fatalf("Version(missing) = %d; want 0", v)
			}
		},
		"SetGetDelete": func(t *testing.T, s store.Store[[]byte]) {
			apply(t, s, "k", []step{
				{val: "one", want: 1},
				{val: "two", want: 2},
				{val: "", want: 3},
				{val: "bin\x00\xff\x01", want: 4},
				{del: true, want: 5},
				{del: true, want: 6},
				{val: "back", want: 7},
			})
		},
		"MinFloor": func(t *testing.T, s store.Store[[]byte]) {
			apply(t, s, "k", []step{
				{val: "a", w: store.Write{Min: 1000}, want: 1000},
				{val: "b", want: 1001},
				{val: "c", w: store.Write{Min: 500}, want: 1002},
				{val: "d", w: store.Write{Min: 1002}, want: 1003},
				{val: "e", w: store.Write{Min: 1 << 40}, want: 1 << 40},
				{del: true, w: store.Write{Min: 1<<40 + 10}, want: 1<<40 + 10},
			})
		},
		"DeleteMissing": func(t *testing.T, s store.Store[[]byte]) {
			if v := del(t, s, "k", store.Write{}); v != 1 {
				t.Fatalf("Delete(never written) = %d; want 1", v)
			}
			if v := version(t, s, "k"); v != 1 {
				t.Fatalf("Version after delete = %d; want the tombstone's 1", v)
			}
			mustMiss(t, s, "k")
		},
		"TombstoneBlocksResurrection": func(t *testing.T, s store.Store[[]byte]) {
			v := set(t, s, "k", "old", store.Write{Min: 100})
			tomb := del(t, s, "k", store.Write{})
			if tomb <= v || version(t, s, "k") != tomb {
				t.Fatalf("tombstone at %d after write at %d; Version = %d", tomb, v, version(t, s, "k"))
			}
			apply(t, s, "k", []step{
				// A late create-if-absent or a writer still holding the old
				// version must not bring the key back.
				{val: "late", w: store.Write{Check: true}, err: store.ErrConflict},
				{val: "late", w: store.Write{Check: true, IfVersion: v}, err: store.ErrConflict},
				// A late write carrying an older floor is ordered after the
				// tombstone, never before it.
				{val: "late", w: store.Write{Min: 50}, want: tomb + 1},
			})
		},
		"DistinctKeys": func(t *testing.T, s store.Store[[]byte]) {
			keys := []string{"a", "a/", "a/b", "ab", "A", "ключ", "键/値", "emoji 🙂", "sp ace", "tab\tkey"}
			for i, k := range keys {
				set(t, s, k, k, store.Write{Min: merge.Version(i + 1)})
			}
			for i, k := range keys {
				mustGet(t, s, k, k, merge.Version(i+1))
			}
		},
	})
}
