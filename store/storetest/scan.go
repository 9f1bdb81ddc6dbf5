package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

// scanKeys are written before every prefix case; keys ending in "-" are
// deleted afterwards, so Scan must skip them.
var scanKeys = []string{
	"a/1", "a/2", "a/3-", "ab", "b/1",
	"p%x", "p%y", "p_x", "pax", "p%-",
	"s*1", "s?1", "s[1]", "s\\1", "sx1", "s]1", "s^1",
	"u/ключ", "u/键", "u/🙂", "u/~",
}

func testScan(t *testing.T, h Harness) {
	t.Run("Prefix", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		want := map[string]merge.Version{}
		for _, k := range scanKeys {
			want[k] = set(t, s, k, "v:"+k, store.Write{})
			if strings.HasSuffix(k, "-") {
				del(t, s, k, store.Write{})
				delete(want, k)
			}
		}
		prefixes := []string{"", "a", "a/", "a/1", "b/", "p%", "p_", "pa", "s*", "s?", "s[", "s\\", "s]", "s^", "sx", "u/", "u/\u043a", "z", "a/3-"}
		for _, p := range prefixes {
			t.Run(fmt.Sprintf("%q", p), func(t *testing.T) {
				exp := map[string]merge.Version{}
				for k, v := range want {
					if strings.HasPrefix(k, p) {
						exp[k] = v
					}
				}
				if got := scan(t, s, p); !maps.Equal(got, exp) {
					t.Fatalf("Scan(%q) = %v; want %v", p, sorted(got), sorted(exp))
				}
			})
		}
	})
	t.Run("Many", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		const n = 700
		want := map[string]merge.Version{}
		for i := range n {
			want[fmt.Sprintf("m/%04d", i)] = set(t, s, fmt.Sprintf("m/%04d", i), fmt.Sprintf("v:m/%04d", i), store.Write{})
		}
		set(t, s, "n/0", "v:n/0", store.Write{})
		if got := scan(t, s, "m/"); !maps.Equal(got, want) {
			t.Fatalf("Scan(m/) found %d keys; want %d", len(got), len(want))
		}
	})
	t.Run("StopsOnError", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		for i := range 10 {
			set(t, s, fmt.Sprintf("k%d", i), "v", store.Write{})
		}
		stop := errors.New("stop")
		calls := 0
		err := s.Scan(t.Context(), "k", func(string, store.Item[[]byte]) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Scan = %v after %d calls; want %v after 1", err, calls, stop)
		}
	})
	t.Run("CallbackUsesStore", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		for i := range 5 {
			set(t, s, fmt.Sprintf("k%d", i), "v", store.Write{})
		}
		err := s.Scan(t.Context(), "k", func(key string, it store.Item[[]byte]) error {
			_, err := s.Set(t.Context(), "copy/"+key, it.Value, store.Write{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(scan(t, s, "copy/")); got != 5 {
			t.Fatalf("callback wrote %d keys; want 5", got)
		}
	})
}

// scan returns the versions of the live keys under prefix, checking that
// every item holds the value "v:"+key when it was written so.
func scan(t *testing.T, s store.Store[[]byte], prefix string) map[string]merge.Version {
	t.Helper()
	got := map[string]merge.Version{}
	err := s.Scan(t.Context(), prefix, func(key string, it store.Item[[]byte]) error {
		if _, dup := got[key]; dup {
			return fmt.Errorf("key %q visited twice", key)
		}
		if v := string(it.Value); strings.HasPrefix(v, "v:") && v != "v:"+key {
			return fmt.Errorf("key %q has value %q", key, v)
		}
		got[key] = it.Version
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%q): %v", prefix, err)
	}
	return got
}

func sorted(m map[string]merge.Version) []string {
	return slices.Sorted(maps.Keys(m))
}
