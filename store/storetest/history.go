package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

func testHistory(t *testing.T, h Harness) {
	if _, ok := h.New(t).(store.Historian[[]byte]); !ok {
		t.Skip("store is not a store.Historian")
	}
	// Writes at versions 10, 11, ..., 10+n-1, every third one a delete.
	tests := []struct {
		name   string
		writes int
	}{
		{"One", 1},
		{"WithinHistory", max(h.History, 2)},
		{"BeyondHistory", h.History + 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := h.New(t)
			hs := s.(store.Historian[[]byte])
			const first = 10
			last := merge.Version(first + tc.writes - 1)
			for i := range tc.writes {
				if i%3 == 2 {
					del(t, s, "k", store.Write{Min: first})
				} else {
					set(t, s, "k", fmt.Sprint(i), store.Write{Min: first})
				}
			}
			if _, err := hs.GetAt(t.Context(), "never", 100); err == nil || !isAny(err, store.ErrNotFound) {
				t.Fatalf("GetAt(never) = %v; want ErrNotFound", err)
			}
			for at := merge.Version(first - 1); at <= last+2; at++ {
				it, err := hs.GetAt(t.Context(), "k", at)
				i := int(min(at, last)) - first // index of the write in effect at at
				retained := at >= last || int(last-at) <= h.History
				switch {
				case at < first && tc.writes <= h.History:
					wantIs(t, fmt.Sprintf("GetAt(%d) before the first write", at), err, store.ErrNotFound)
				case at < first:
					// Not found, if the store knows it dropped nothing;
					// else it cannot tell, and must say so.
					if !isAny(err, store.ErrNotFound, store.ErrHistory) {
						t.Fatalf("GetAt(%d) before the first write = %v; want ErrNotFound or ErrHistory", at, err)
					}
				case !retained:
					wantIs(t, fmt.Sprintf("GetAt(%d) beyond a history of %d", at, h.History), err, store.ErrHistory)
				case i%3 == 2:
					wantIs(t, fmt.Sprintf("GetAt(%d) of a tombstone", at), err, store.ErrNotFound)
				case err != nil || string(it.Value) != fmt.Sprint(i) || it.Version != merge.Version(first+i):
					t.Fatalf("GetAt(%d) = %q@%d, %v; want %q@%d", at, it.Value, it.Version, err, fmt.Sprint(i), first+i)
				}
			}
		})
	}
}

func isAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
