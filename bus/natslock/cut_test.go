package natslock_test

import (
	"testing"
	"time"

	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/internal/chaos/proxy"
	"github.com/warpcache/warp/internal/natstest"
)

// A waiter cut off from the server while the lock is released, until the
// release's marker is gone (it lives MarkerTTL, 1 s), never sees the
// marker; it still gets the free lock, within a MarkerTTL of being back,
// instead of waiting until its context ends.
func TestWaiterCutOffPastTheReleaseGetsTheLock(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	p, js := natstest.Proxied(t, srv)
	cfg := natslock.Config{Bucket: "cut"}
	holder := newNode(t, srv, cfg)
	ctx := bounded(t, 60*time.Second)
	waiter, err := natslock.New(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = waiter.Close() })

	k, err := holder.l.TryLock(ctx, "c", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	natslock.SetWaitHook(waiter, func(string) { close(waiting) })
	got := make(chan error, 1)
	go func() {
		wk, err := waiter.Lock(ctx, "c", 0)
		if err == nil {
			defer func() { _ = wk.Unlock(ctx) }()
		}
		got <- err
	}()
	<-waiting
	if err := p.Cut(proxy.Both, true); err != nil {
		t.Fatal(err)
	}
	if err := k.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	natstest.AwaitGone(t, ctx, holder.js, "KV_cut", "$KV.cut.c") // the cut lasts until the release's marker is gone
	p.Heal()
	healed := time.Now()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("Lock after the cut: %v", err)
		}
		t.Logf("the waiter got the lock %v after the heal", time.Since(healed))
	case <-time.After(20 * time.Second):
		t.Fatal("the waiter did not get the free lock within 20 s of the heal")
	}
}
