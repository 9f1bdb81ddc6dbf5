package api

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// afterSetStore is a spying store that runs afterSet once a Set has been
// applied, before it returns: another node's event arriving mid-write.
type afterSetStore struct {
	*spyStore[string]
	afterSet func()
}

func (s *afterSetStore) Set(ctx context.Context, key, v string, wr store.Write) (merge.Version, error) {
	ver, err := s.spyStore.Set(ctx, key, v, wr)
	if s.afterSet != nil {
		s.afterSet()
	}
	return ver, err
}

// TestGetAfterOwnWriteDoesNotJoinOlderLoad: a Get misses and its load
// reads "old" from the store; on the same node a write of the key then
// returns (followed by an Invalidate, or a delete, or a write whose install
// was dropped because another event moved the stripe). A Get begun after
// that must not join the first load, which read before the write: it
// returns the write (read-your-writes). Runs in a synctest bubble, so
// synctest.Wait tells when the second Get is parked on a load.
func TestGetAfterOwnWriteDoesNotJoinOlderLoad(t *testing.T) {
	tests := []struct {
		name    string
		write   func(ctx context.Context, w *Warp[string], st *afterSetStore) error
		want    string
		wantErr error
	}{
		{"set then invalidate", func(ctx context.Context, w *Warp[string], _ *afterSetStore) error {
			if err := w.Set(ctx, "k", "new"); err != nil {
				return err
			}
			return w.Invalidate(ctx, "k")
		}, "new", nil},
		{"delete", func(ctx context.Context, w *Warp[string], _ *afterSetStore) error {
			return w.DeleteFenced(ctx, "k", 1)
		}, "", ErrNotFound},
		{"set whose install was dropped", func(ctx context.Context, w *Warp[string], st *afterSetStore) error {
			st.afterSet = func() { _ = (applier[string]{w}).Invalidate(ctx, "k", 0) }
			defer func() { st.afterSet = nil }()
			return w.Set(ctx, "k", "new")
		}, "new", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				spy := &spyStore[string]{Store: memory.New[string](memory.Options{})}
				st := &afterSetStore{spyStore: spy}
				w := newWarp[string](t, st, WithNodeConfig[string](actors.Config{}))
				if err := w.Register("k", ModeStrongLocal, time.Minute); err != nil {
					t.Fatal(err)
				}
				if _, err := spy.Store.Set(ctx, "k", "old", store.Write{}); err != nil {
					t.Fatal(err)
				}
				spy.loaded, spy.hold = make(chan struct{}), make(chan struct{})
				go func() { _, _ = w.Get(ctx, "k") }()
				<-spy.loaded // the first load has read "old"
				spy.loaded = nil
				if err := tt.write(ctx, w, st); err != nil {
					t.Fatal(err)
				}
				type result struct {
					v   string
					err error
				}
				got := make(chan result, 1)
				go func() { v, err := w.Get(ctx, "k"); got <- result{v, err} }()
				synctest.Wait() // the second Get waits on a load: the first one, or its own
				close(spy.hold)
				r := <-got
				if tt.wantErr != nil {
					if !errors.Is(r.err, tt.wantErr) {
						t.Fatalf("Get begun after the write = %q, %v; want %v", r.v, r.err, tt.wantErr)
					}
					return
				}
				if r.err != nil || r.v != tt.want {
					t.Fatalf("Get begun after the write = %q, %v; want %q (store loads: %d)", r.v, r.err, tt.want, spy.gets.Load())
				}
			})
		})
	}
}
