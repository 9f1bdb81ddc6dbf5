package api

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// failsAfterApply is a memory store whose writes, while fail is set, are
// applied and then reported as failed: a timeout after the commit.
type failsAfterApply struct {
	*memory.Store[string]
	fail atomic.Bool
}

func (s *failsAfterApply) Set(ctx context.Context, k, v string, wr store.Write) (merge.Version, error) {
	ver, err := s.Store.Set(ctx, k, v, wr)
	if err == nil && s.fail.Load() {
		return 0, fmt.Errorf("after the write: %w", context.DeadlineExceeded)
	}
	return ver, err
}

func (s *failsAfterApply) Delete(ctx context.Context, k string, wr store.Write) (merge.Version, error) {
	ver, err := s.Store.Delete(ctx, k, wr)
	if err == nil && s.fail.Load() {
		return 0, fmt.Errorf("after the delete: %w", context.DeadlineExceeded)
	}
	return ver, err
}

// TestEventualFailedWriteDropsPeerCopies: an EventualDistributed write (a
// Set or a delete) that the store applied but reported as failed may have
// changed the key, so the writer drops its own copy and every peer drops
// theirs too: no node goes on serving the old value until its TTL.
func TestEventualFailedWriteDropsPeerCopies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		write   func(ctx context.Context, w *Warp[string]) error
		want    string
		wantErr error
	}{
		{"set", func(ctx context.Context, w *Warp[string]) error { return w.Set(ctx, "k", "new") }, "new", nil},
		{"delete", func(ctx context.Context, w *Warp[string]) error { return w.DeleteFenced(ctx, "k", 1) }, "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := &failsAfterApply{Store: memory.New[string](memory.Options{})}
			hub := inproc.NewHub()
			var nodes []*Warp[string]
			for i := range 2 {
				w := newWarp[string](t, st,
					WithNodeConfig[string](actors.Config{ID: fmt.Sprintf("n%d", i)}),
					WithBus[string](bus.Config{Cluster: "t", Transport: hub.Transport(), Keys: testKeys,
						HeartbeatInterval: 20 * time.Millisecond, LeaseDuration: 100 * time.Millisecond,
						PeerTimeout: time.Second, StrongTimeout: 3 * time.Second, MemberLease: time.Second}))
				if err := w.Register("k", ModeEventualDistributed, time.Hour); err != nil {
					t.Fatal(err)
				}
				nodes = append(nodes, w)
			}
			waitFor(t, 10*time.Second, "membership and leases", func() bool {
				for _, w := range nodes {
					if len(w.Bus().Members()) != 1 || !w.Bus().LeaseValid() {
						return false
					}
				}
				return true
			})
			if err := nodes[0].Set(ctx, "k", "old"); err != nil {
				t.Fatal(err)
			}
			n1 := nodes[1]
			cached := func() bool { _, ok := n1.router.Shard(n1.router.Hash("k")).Load("k"); return ok }
			waitFor(t, 5*time.Second, "n1 caches old", func() bool {
				v, err := n1.Get(ctx, "k")
				return err == nil && v == "old" && cached()
			})
			st.fail.Store(true)
			err := tt.write(ctx, nodes[0])
			st.fail.Store(false)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("write = %v; want the store's failure", err)
			}
			waitFor(t, 5*time.Second, "n1 drops its copy after the failed write", func() bool { return !cached() })
			for i, w := range nodes {
				v, err := w.Get(ctx, "k")
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantErr == nil && (err != nil || v != tt.want) {
					t.Errorf("n%d Get = %q, %v; want %q, %v (the store's value)", i, v, err, tt.want, tt.wantErr)
				}
			}
		})
	}
}

// notApplied tells the store errors that prove a write changed nothing
// (its peers need not drop their copies) from those that do not.
func TestNotApplied(t *testing.T) {
	t.Parallel()
	for _, err := range []error{store.ErrConflict, store.ErrFenced, store.ErrNotMember, store.ErrTooLarge, store.ErrInvalid} {
		if !notApplied(fmt.Errorf("memory: set %q: %w", "k", err)) {
			t.Errorf("notApplied(%v) = false; want true", err)
		}
	}
	for _, err := range []error{context.DeadlineExceeded, context.Canceled, errors.New("connection reset"), store.ErrNotFound} {
		if notApplied(fmt.Errorf("set: %w", err)) {
			t.Errorf("notApplied(%v) = true; want false: the write may have been applied", err)
		}
	}
}
