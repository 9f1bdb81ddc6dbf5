package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
	"github.com/warpcache/warp/store/storetest"
)

func TestContract(t *testing.T) {
	for _, history := range []int{0, 4} {
		t.Run(fmt.Sprintf("History=%d", history), func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, storetest.Harness{
				New: func(*testing.T) store.Store[[]byte] {
					return memory.New[[]byte](memory.Options{History: history})
				},
				History: history,
				Prefix:  "memory:",
			})
		})
	}
}

func BenchmarkGet(b *testing.B) { storetest.BenchGet(b, memory.New[[]byte](memory.Options{})) }
func BenchmarkSet(b *testing.B) { storetest.BenchSet(b, memory.New[[]byte](memory.Options{})) }
func BenchmarkMembership(b *testing.B) {
	storetest.BenchMembership(b, memory.New[[]byte](memory.Options{}))
}

// TestHistoryAge: a time older than the history age is refused even when
// the version is still kept, unless the current version answers it.
func TestHistoryAge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memory.New[string](memory.Options{History: 10, HistoryAge: time.Minute, Now: func() time.Time { return now }})
	v1, _ := s.Set(ctx, "k", "v1", store.Write{Min: merge.MakeVersion(now)})
	v2, _ := s.Set(ctx, "k", "v2", store.Write{Min: merge.MakeVersion(now.Add(10 * time.Second))})
	if it, err := s.GetAt(ctx, "k", v1); err != nil || it.Value != "v1" {
		t.Fatalf("GetAt(v1) within the age = %q, %v; want v1", it.Value, err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.GetAt(ctx, "k", v1); !errors.Is(err, store.ErrHistory) {
		t.Fatalf("GetAt(v1) past the age: err = %v; want ErrHistory", err)
	}
	if it, err := s.GetAt(ctx, "k", v2); err != nil || it.Value != "v2" {
		t.Fatalf("GetAt(current version) past the age = %q, %v; want v2", it.Value, err)
	}
}
