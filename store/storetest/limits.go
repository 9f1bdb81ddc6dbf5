package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

// call is one store method applied to a key, for the bad-input tables.
type call struct {
	name string
	fn   func(ctx context.Context, s store.Store[[]byte], key string, val []byte) error
}

var writes = []call{
	{"Set", func(ctx context.Context, s store.Store[[]byte], key string, val []byte) error {
		_, err := s.Set(ctx, key, val, store.Write{})
		return err
	}},
	{"CheckedSet", func(ctx context.Context, s store.Store[[]byte], key string, val []byte) error {
		_, err := s.Set(ctx, key, val, store.Write{Check: true})
		return err
	}},
	{"Delete", func(ctx context.Context, s store.Store[[]byte], key string, _ []byte) error {
		_, err := s.Delete(ctx, key, store.Write{})
		return err
	}},
	{"Commit", func(ctx context.Context, s store.Store[[]byte], key string, val []byte) error {
		c, ok := s.(store.Committer[[]byte])
		if !ok {
			return errSkip
		}
		_, err := c.Commit(ctx, []op{opSet("other", "x", store.Write{}), opSet(key, string(val), store.Write{})})
		return err
	}},
}

var reads = []call{
	{"Get", func(ctx context.Context, s store.Store[[]byte], key string, _ []byte) error {
		_, err := s.Get(ctx, key)
		return err
	}},
	{"Version", func(ctx context.Context, s store.Store[[]byte], key string, _ []byte) error {
		_, err := s.Version(ctx, key)
		return err
	}},
	{"GetAt", func(ctx context.Context, s store.Store[[]byte], key string, _ []byte) error {
		hs, ok := s.(store.Historian[[]byte])
		if !ok {
			return errSkip
		}
		_, err := hs.GetAt(ctx, key, 1)
		return err
	}},
}

var errSkip = errors.New("storetest: not supported")

func testLimits(t *testing.T, h Harness) {
	all := append(append([]call{}, writes...), reads...)
	t.Run("EmptyKey", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		for _, c := range all {
			if err := c.fn(t.Context(), s, "", []byte("v")); err != errSkip {
				wantIs(t, c.name, err, store.ErrInvalid)
				h.wantPrefix(t, c.name, err)
			}
		}
		nothingWritten(t, s)
	})
	t.Run("KeyTooLong", func(t *testing.T) {
		t.Parallel()
		if h.MaxKeyLen == 0 {
			t.Skip("no key length limit")
		}
		s := h.New(t)
		longest := strings.Repeat("k", h.MaxKeyLen)
		set(t, s, longest, "v", store.Write{})
		mustGet(t, s, longest, "v", 1)
		del(t, s, longest, store.Write{})
		for _, c := range writes {
			if err := c.fn(t.Context(), s, longest+"k", []byte("v")); err != errSkip {
				wantIs(t, c.name, err, store.ErrTooLarge)
				h.wantPrefix(t, c.name, err)
			}
		}
		if n := len(scan(t, s, "")); n != 0 {
			t.Fatalf("%d keys written by rejected writes", n)
		}
	})
	t.Run("ValueTooLarge", func(t *testing.T) {
		t.Parallel()
		if h.MaxValueSize == 0 {
			t.Skip("no value size limit")
		}
		s := h.New(t)
		largest := strings.Repeat("v", h.MaxValueSize)
		v := set(t, s, "k", largest, store.Write{})
		mustGet(t, s, "k", largest, v)
		for _, c := range writes {
			if c.name == "Delete" {
				continue
			}
			if err := c.fn(t.Context(), s, "k", []byte(largest+"v")); err != errSkip {
				wantIs(t, c.name, err, store.ErrTooLarge)
				h.wantPrefix(t, c.name, err)
			}
		}
		mustGet(t, s, "k", largest, v)
	})
	t.Run("CancelledContext", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		set(t, s, "k", "v", store.Write{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, c := range all {
			if err := c.fn(ctx, s, "k", []byte("w")); err != errSkip {
				wantIs(t, c.name, err, context.Canceled)
				h.wantPrefix(t, c.name, err)
			}
		}
		wantIs(t, "Scan", s.Scan(ctx, "", func(string, store.Item[[]byte]) error { return nil }), context.Canceled)
		mustGet(t, s, "k", "v", 1)
		if v := version(t, s, "other"); v != 0 {
			t.Fatalf("Version(other) = %d after a cancelled commit; want 0", v)
		}
	})
}

func nothingWritten(t *testing.T, s store.Store[[]byte]) {
	t.Helper()
	for k, v := range scan(t, s, "") {
		t.Errorf("key %q@%d written by a rejected call", k, v)
	}
	if v := version(t, s, "other"); v != merge.Version(0) {
		t.Fatalf("Version(other) = %d after a rejected commit; want 0", v)
	}
}
