package natslock_test

import (
	"errors"
	"testing"
	"time"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// TestFencedWrite: a holder whose lock expired still believes it holds it;
// once the new holder wrote with its larger token, the store rejects the
// old holder's write with store.ErrFenced.
func TestFencedWrite(t *testing.T) {
	t.Parallel()
	a, b, ctx := twoHolders(t)
	st := memory.New[string](memory.Options{})

	ka, err := a.l.TryLock(ctx, "f", time.Second)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	if _, err := st.Set(ctx, "k", "a1", store.Write{Fence: ka.Token()}); err != nil {
		t.Fatalf("holder's write: %v", err)
	}
	kb, err := b.l.Lock(ctx, "f", 30*time.Second) // a pauses past its TTL
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	defer func() { _ = kb.Unlock(ctx) }()
	if _, err := st.Set(ctx, "k", "b", store.Write{Fence: kb.Token()}); err != nil {
		t.Fatalf("new holder's write: %v", err)
	}
	if _, err := st.Set(ctx, "k", "a2", store.Write{Fence: ka.Token()}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale holder's write: got %v; want store.ErrFenced", err)
	}
	got, err := st.Get(ctx, "k")
	if err != nil || got.Value != "b" {
		t.Fatalf("Get: got %q, %v; want \"b\"", got.Value, err)
	}
}
