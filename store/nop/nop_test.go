package nop

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

// Writes get increasing versions, at least their Min; nothing is kept.
func TestKeepsNothing(t *testing.T) {
	ctx := context.Background()
	var s Store[string]
	v1, _ := s.Set(ctx, "k", "a", store.Write{})
	v2, _ := s.Set(ctx, "k", "b", store.Write{Min: 100})
	v3, _ := s.Delete(ctx, "k", store.Write{})
	if !(v1 < v2 && v2 >= 100 && v2 < v3) {
		t.Fatalf("versions %d, %d, %d; want increasing, the second at least 100", v1, v2, v3)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get = %v; want ErrNotFound", err)
	}
	if v, _ := s.Version(ctx, "k"); v != 0 {
		t.Fatalf("Version = %d; want 0", v)
	}
	n := 0
	_ = s.Scan(ctx, "", func(string, store.Item[string]) error { n++; return nil })
	if n != 0 {
		t.Fatalf("Scan found %d keys; want none", n)
	}
}

// TestRefuses: a guarded write (no membership here) and versions beyond
// merge.MaxVersion fail with ErrInvalid.
func TestRefuses(t *testing.T) {
	ctx := context.Background()
	var s Store[string]
	tests := []struct {
		name string
		w    store.Write
	}{
		{"Guard", store.Write{Guard: store.Guard{Cluster: "c", Node: "n", Incarnation: 1}}},
		{"BadGuard", store.Write{Guard: store.Guard{Node: "n"}}},
		{"MinAboveMax", store.Write{Min: merge.MaxVersion + 1}},
		{"IfVersionAboveMax", store.Write{Check: true, IfVersion: merge.MaxVersion + 1}},
	}
	for _, tc := range tests {
		if _, err := s.Set(ctx, "k", "v", tc.w); !errors.Is(err, store.ErrInvalid) || !strings.HasPrefix(err.Error(), "nop: ") {
			t.Errorf("%s: Set = %v; want a nop: error wrapping ErrInvalid", tc.name, err)
		}
		if _, err := s.Delete(ctx, "k", tc.w); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: Delete = %v; want ErrInvalid", tc.name, err)
		}
	}
	if v, err := s.Set(ctx, "k", "v", store.Write{Min: merge.MaxVersion}); err != nil || v != merge.MaxVersion {
		t.Fatalf("Set(Min: MaxVersion) = %d, %v; want MaxVersion", v, err)
	}
	if _, err := s.Set(ctx, "k", "v", store.Write{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Set past MaxVersion = %v; want ErrInvalid", err)
	}
}
