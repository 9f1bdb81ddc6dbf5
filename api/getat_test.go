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

// TestGetAt writes three versions at known times (an injected clock) and
// asks for the value before, at, between and after them, and before the
// retained history.
//
// It runs in a synctest bubble: versions follow the wall clock's start
// reading plus the time elapsed since, which the bubble keeps still.
func TestGetAt(t *testing.T) { synctest.Test(t, testGetAt) }

func testGetAt(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := base
	clock := actors.ClockFunc(func() time.Time { return now })
	for _, history := range []int{2, 0} {
		w := newWarp(t, memory.New[string](memory.Options{History: history}),
			WithNodeConfig[string](actors.Config{Clock: clock}))
		_ = w.Register("k", ModeStrongLocal, time.Hour)
		at := func(d time.Duration) time.Time { return base.Add(d) }
		for i, v := range []string{"v1", "v2", "v3"} {
			now = at(time.Duration(i+1) * time.Second)
			w.node.HLC().Observe(merge.MakeVersion(now)) // versions follow the monotonic clock from the start reading
			if err := w.Set(ctx, "k", v); err != nil {
				t.Fatal(err)
			}
		}
		// want is "" for an error: ErrNotFound with history, ErrHistory
		// without (the store cannot tell a missing key from a dropped
		// version, and says so).
		tests := []struct {
			t            time.Time
			with, withou string
		}{
			{at(3500 * time.Millisecond), "v3", "v3"}, // at or after the last write: the cached copy
			{at(10 * time.Second), "v3", "v3"},
			{at(2500 * time.Millisecond), "v2", ""}, // between v2 and v3
			{at(2 * time.Second), "v2", ""},         // exactly at v2
			{at(1500 * time.Millisecond), "v1", ""}, // between v1 and v2
			{at(500 * time.Millisecond), "", ""},    // before the key existed
		}
		for _, tt := range tests {
			got, err := w.GetAt(ctx, "k", tt.t)
			want, wantErr := tt.with, ErrNotFound
			if history == 0 {
				want, wantErr = tt.withou, ErrHistory
			}
			if want == "" {
				if !errors.Is(err, wantErr) {
					t.Errorf("history %d, GetAt(+%v) = %q, %v; want %v", history, tt.t.Sub(base), got, err, wantErr)
				}
				continue
			}
			if err != nil || got != want {
				t.Errorf("history %d, GetAt(+%v) = %q, %v; want %q", history, tt.t.Sub(base), got, err, want)
			}
		}
	}
}

// TestGetAtBeforeRetainedHistory: with one old version kept, asking for
// the oldest value gives ErrHistory.
func TestGetAtBeforeRetainedHistory(t *testing.T) {
	synctest.Test(t, testGetAtBeforeRetainedHistory)
}

func testGetAtBeforeRetainedHistory(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := base
	w := newWarp(t, memory.New[string](memory.Options{History: 1}),
		WithNodeConfig[string](actors.Config{Clock: actors.ClockFunc(func() time.Time { return now })}))
	_ = w.Register("k", ModeStrongLocal, time.Hour)
	for i, v := range []string{"v1", "v2", "v3"} {
		now = base.Add(time.Duration(i+1) * time.Second)
		w.node.HLC().Observe(merge.MakeVersion(now))
		_ = w.Set(ctx, "k", v)
	}
	if got, err := w.GetAt(ctx, "k", base.Add(2*time.Second)); err != nil || got != "v2" {
		t.Fatalf("GetAt(v2) = %q, %v", got, err)
	}
	if got, err := w.GetAt(ctx, "k", base.Add(1500*time.Millisecond)); !errors.Is(err, ErrHistory) {
		t.Fatalf("GetAt before the retained history = %q, %v; want ErrHistory", got, err)
	}
}

// TestGetAtChecksRegistration: GetAt serves the cached copy only if Get
// would. After the key is registered again in another mode, the copy
// cached under the old registration is not the answer: GetAt(now) asks the
// store's history and agrees with Get.
func TestGetAtChecksRegistration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		now := base
		st := memory.New[string](memory.Options{History: 2})
		w := newWarp(t, st, WithNodeConfig[string](actors.Config{Clock: actors.ClockFunc(func() time.Time { return now })}))
		if err := w.Register("k", ModeStrongLocal, time.Hour); err != nil {
			t.Fatal(err)
		}
		now = base.Add(time.Second)
		w.node.HLC().Observe(merge.MakeVersion(now))
		if err := w.Set(ctx, "k", "v1"); err != nil {
			t.Fatal(err)
		}
		// Another node's write, which this StrongLocal node does not see.
		if _, err := st.Set(ctx, "k", "v2", store.Write{Min: merge.MakeVersion(base.Add(2 * time.Second))}); err != nil {
			t.Fatal(err)
		}
		if err := w.Unregister("k"); err != nil {
			t.Fatal(err)
		}
		if err := w.Register("k", ModeStrongDistributed, time.Hour); err != nil {
			t.Fatal(err)
		}
		if a, err := w.GetAt(ctx, "k", base.Add(3*time.Second)); err != nil || a != "v2" {
			t.Fatalf("GetAt(+3s) after the registration change = %q, %v; want v2, the store's", a, err)
		}
		if g, err := w.Get(ctx, "k"); err != nil || g != "v2" {
			t.Fatalf("Get after the registration change = %q, %v; want v2", g, err)
		}
	})
}
