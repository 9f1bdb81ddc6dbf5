package storetest

import (
	"slices"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

// testVersionBounds: no write names or assigns a version above
// merge.MaxVersion; each is refused with ErrInvalid, writing nothing.
func testVersionBounds(t *testing.T, h Harness) {
	const top = merge.MaxVersion
	t.Run("AboveMax", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		c, _ := s.(store.Committer[[]byte])
		for _, w := range []store.Write{{Min: top + 1}, {Check: true, IfVersion: top + 1}, {Min: ^merge.Version(0)}} {
			_, err := s.Set(t.Context(), "k", []byte("v"), w)
			wantIs(t, "Set", err, store.ErrInvalid)
			h.wantPrefix(t, "Set", err)
			_, err = s.Delete(t.Context(), "k", w)
			wantIs(t, "Delete", err, store.ErrInvalid)
			h.wantPrefix(t, "Delete", err)
			if c != nil {
				_, err = c.Commit(t.Context(), []op{opSet("other", "v", store.Write{}), opSet("k", "v", w)})
				wantIs(t, "Commit", err, store.ErrInvalid)
				h.wantPrefix(t, "Commit", err)
			}
		}
		nothingWritten(t, s)
	})
	t.Run("AtMax", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		apply(t, s, "k", []step{
			{val: "a", w: store.Write{Min: top}, want: top},
			{val: "b", err: store.ErrInvalid},
			{val: "b", w: store.Write{Check: true, IfVersion: top}, err: store.ErrInvalid},
			{del: true, err: store.ErrInvalid},
		})
		set(t, s, "j", "a", store.Write{Min: top - 1})
		c, ok := s.(store.Committer[[]byte])
		if !ok {
			return
		}
		got, err := c.Commit(t.Context(), []op{opCheck("k", top), opSet("j", "b", store.Write{})})
		if err != nil || !slices.Equal(got, []merge.Version{top, top}) {
			t.Fatalf("Commit reaching MaxVersion = %v, %v; want [%d %d]", got, err, top, top)
		}
		for _, ops := range [][]op{
			{opSet("x", "1", store.Write{}), opSet("k", "b", store.Write{})},
			{opSet("x", "1", store.Write{}), opDel("j", store.Write{})},
		} {
			_, err := c.Commit(t.Context(), ops)
			wantIs(t, "Commit past MaxVersion", err, store.ErrInvalid)
			h.wantPrefix(t, "Commit past MaxVersion", err)
		}
		s2 := h.New(t)
		set(t, s2, "n", "a", store.Write{Min: top - 1})
		_, err = s2.(store.Committer[[]byte]).Commit(t.Context(), []op{opSet("n", "b", store.Write{}), opSet("n", "c", store.Write{})})
		wantIs(t, "Commit of two writes from MaxVersion-1", err, store.ErrInvalid)
		mustGet(t, s2, "n", "a", top-1)
		mustGet(t, s, "k", "a", top)
		if v := version(t, s, "x"); v != 0 {
			t.Fatalf("Version(x) = %d after refused commits; want 0", v)
		}
	})
}
