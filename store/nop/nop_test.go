package nop

import (
	"context"
	"errors"
	"testing"

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
