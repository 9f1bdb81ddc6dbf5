package natslock_test

import (
	"errors"
	"testing"
	"time"

	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/internal/natstest"
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

// Losing the lock bucket (deleted here; a single-replica server that lost
// its disk does the same) restarts the fencing tokens: New creates the
// bucket again and its first grant's token is below those of the grants
// before the loss. Fencing stays safe: the store refuses every fenced
// write below the highest token it holds for the key (store.ErrFenced), so
// the key takes no fenced write until the new tokens pass the old ones,
// and the value written under the old tokens stands (docs/lock.md).
func TestLostBucketRestartsTokensAndTheStoreRefusesThem(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	cfg := natslock.Config{Bucket: "lost"}
	a := newNode(t, srv, cfg)
	ctx := bounded(t, 20*time.Second)
	st := memory.New[string](memory.Options{})
	var old *natslock.Lock
	for range 5 { // the bucket's stream sequence, and so the tokens, grow
		k, err := a.l.TryLock(ctx, "f", time.Minute)
		if err != nil {
			t.Fatalf("TryLock: %v", err)
		}
		if _, err := st.Set(ctx, "k", "before", store.Write{Fence: k.Token()}); err != nil {
			t.Fatalf("fenced write before the loss: %v", err)
		}
		if err := k.Unlock(ctx); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		old = k
	}
	if err := a.js.DeleteKeyValue(ctx, "lost"); err != nil {
		t.Fatalf("delete the bucket: %v", err)
	}
	// A new Locker creates the bucket again. The server may still be
	// removing the old stream's files: its first creations may fail
	// ("error creating store for stream", seen once in CI). New tries
	// again for 5 s; the test, for 5 s more.
	_, js := natstest.Connect(t, srv)
	var l *natslock.Locker
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if l, err = natslock.New(ctx, js, cfg); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("New after the bucket's loss: %v", err)
		}
		<-time.After(50 * time.Millisecond)
	}
	t.Cleanup(func() { _ = l.Close() })
	k, err := l.TryLock(ctx, "f", time.Minute)
	if err != nil {
		t.Fatalf("TryLock after the loss: %v", err)
	}
	defer func() { _ = k.Unlock(ctx) }()
	if k.Token() >= old.Token() {
		t.Fatalf("token %d after the loss, %d before; want it restarted below", k.Token(), old.Token())
	}
	if _, err := st.Set(ctx, "k", "after", store.Write{Fence: k.Token()}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("fenced write with a restarted token: %v; want store.ErrFenced", err)
	}
	if got, err := st.Get(ctx, "k"); err != nil || got.Value != "before" {
		t.Fatalf("Get: %q, %v; want the value written before the loss", got.Value, err)
	}
}
