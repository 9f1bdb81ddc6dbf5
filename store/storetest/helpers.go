package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

// step is one write of a table-driven sequence on a single key.
type step struct {
	del  bool
	val  string
	w    store.Write
	want merge.Version // 0: any version larger than the previous one
	err  error         // nil: the write must succeed
}

// apply runs the steps in order on key, checking every outcome; a failed
// step must leave the key's value and version as they were.
func apply(t *testing.T, s store.Store[[]byte], key string, steps []step) {
	t.Helper()
	for i, st := range steps {
		before := version(t, s, key)
		var got merge.Version
		var err error
		if st.del {
			got, err = s.Delete(t.Context(), key, st.w)
		} else {
			got, err = s.Set(t.Context(), key, []byte(st.val), st.w)
		}
		if st.err != nil {
			if !errors.Is(err, st.err) {
				t.Fatalf("step %d (%+v): err = %v; want %v", i, st, err, st.err)
			}
			if after := version(t, s, key); after != before {
				t.Fatalf("step %d: failed write moved the version from %d to %d", i, before, after)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d (%+v): %v", i, st, err)
		}
		if want := max(st.w.Min, before+1); got != want || st.want != 0 && got != st.want {
			t.Fatalf("step %d (%+v): version = %d; want %d", i, st, got, max(want, st.want))
		}
		if st.del {
			mustMiss(t, s, key)
		} else {
			mustGet(t, s, key, st.val, got)
		}
	}
}

func set(t *testing.T, s store.Store[[]byte], key, val string, w store.Write) merge.Version {
	t.Helper()
	v, err := s.Set(t.Context(), key, []byte(val), w)
	if err != nil {
		t.Fatalf("Set(%q, %q, %+v): %v", key, val, w, err)
	}
	return v
}

func del(t *testing.T, s store.Store[[]byte], key string, w store.Write) merge.Version {
	t.Helper()
	v, err := s.Delete(t.Context(), key, w)
	if err != nil {
		t.Fatalf("Delete(%q, %+v): %v", key, w, err)
	}
	return v
}

func version(t *testing.T, s store.Store[[]byte], key string) merge.Version {
	t.Helper()
	v, err := s.Version(t.Context(), key)
	if err != nil {
		t.Fatalf("Version(%q): %v", key, err)
	}
	return v
}

func mustGet(t *testing.T, s store.Store[[]byte], key, val string, v merge.Version) {
	t.Helper()
	it, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(it.Value, []byte(val)) || it.Version != v {
		t.Fatalf("Get(%q) = %q@%d; want %q@%d", key, it.Value, it.Version, val, v)
	}
}

func mustMiss(t *testing.T, s store.Store[[]byte], key string) {
	t.Helper()
	it, err := s.Get(t.Context(), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q@%d, %v; want ErrNotFound", key, it.Value, it.Version, err)
	}
}

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v; want %v", what, err, target)
	}
}

// wantPrefix checks that err's text starts with the adapter's Prefix.
func (h Harness) wantPrefix(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && !strings.HasPrefix(err.Error(), h.Prefix) {
		t.Errorf("%s: error %q does not start with %q", what, err, h.Prefix)
	}
}

func versionOf(v uint64) merge.Version { return merge.Version(v) }
