package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// versionHook is a memory store whose first Version call runs hook first:
// another node's write landing between a merge's read and its read of the
// version.
type versionHook struct {
	*memory.Store[int]
	once sync.Once
	hook func()
}

func (s *versionHook) Version(ctx context.Context, key string) (merge.Version, error) {
	s.once.Do(s.hook)
	return s.Store.Version(ctx, key)
}

// TestMergeOfAbsentKeyRacingItsCreation: a merged Set finds its key absent,
// and another node creates the key before the Set reads the version to
// compare against. The Set must merge into the created value, not write
// the merge of nothing over it (a lost update TestClusterCounter caught
// once under load, 9,998 of 10,000 increments).
func TestMergeOfAbsentKeyRacingItsCreation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &versionHook{Store: memory.New[int](memory.Options{})}
	st.hook = func() {
		if _, err := st.Store.Set(ctx, "n:1", 40, store.Write{}); err != nil {
			t.Error(err)
		}
	}
	w, err := New[int](st)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.engine.Register("n:*", merge.Sum[int]); err != nil {
		t.Fatal(err)
	}
	if err := w.Register("n:*", ModeStrongLocal, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := w.Set(ctx, "n:1", 2); err != nil {
		t.Fatal(err)
	}
	it, err := st.Store.Get(ctx, "n:1")
	if err != nil || it.Value != 42 {
		t.Fatalf("stored %d, %v; want 42: the other write (40) merged with this one (2)", it.Value, err)
	}
}

// A merged Set of a key never written reads the store twice, the value and
// the version (0: nothing to read again); of a deleted key three times, the
// version of its tombstone calling for a second read of the value.
func TestMergeOfAbsentKeyReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &versionCounting[int]{Store: memory.New[int](memory.Options{}), calls: map[string]int{}}
	w := newWarp[int](t, st)
	if err := w.engine.Register("n:*", merge.Sum[int]); err != nil {
		t.Fatal(err)
	}
	if err := w.Register("n:*", ModeStrongLocal, time.Hour); err != nil {
		t.Fatal(err)
	}
	reads := func() (int, int) { st.mu.Lock(); defer st.mu.Unlock(); return st.gets, st.total }
	if err := w.Set(ctx, "n:1", 2); err != nil {
		t.Fatal(err)
	}
	if g, v := reads(); g != 1 || v != 1 {
		t.Errorf("merge of a key never written: %d Gets and %d Version reads; want 1 and 1", g, v)
	}
	if _, err := st.Store.Delete(ctx, "n:1", store.Write{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Set(ctx, "n:1", 3); err != nil {
		t.Fatal(err)
	}
	if g, v := reads(); g != 3 || v != 2 {
		t.Errorf("after a merge of a deleted key: %d Gets and %d Version reads in all; want 3 and 2", g, v)
	}
	if it, err := st.Store.Get(ctx, "n:1"); err != nil || it.Value != 3 {
		t.Fatalf("stored %d, %v; want 3 (the deleted 2 does not count)", it.Value, err)
	}
}
