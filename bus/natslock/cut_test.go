package natslock_test

import (
	"context"
	"errors"
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
	got := lockWaiting(ctx, waiter, "c")
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

// A waiter closed while it is cut off, its poll's read stuck, returns an
// error wrapping ErrClosed: the Close stops its watch as well, and the
// waiter took that for a lost connection about one time in three.
func TestWaiterClosedWhileCutOff(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	p, js := natstest.Proxied(t, srv)
	cfg := natslock.Config{Bucket: "cutclose"}
	holder := newNode(t, srv, cfg)
	ctx := bounded(t, 60*time.Second)
	k, err := holder.l.TryLock(ctx, "c", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = k.Unlock(ctx) }()
	for i := range 8 {
		waiter, err := natslock.New(ctx, js, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := lockWaiting(ctx, waiter, "c")
		if err := p.Cut(proxy.Both, false); err != nil {
			t.Fatal(err)
		}
		<-time.After(1200 * time.Millisecond) // past the first poll, whose read is stuck
		_ = waiter.Close()
		if err := <-got; !errors.Is(err, natslock.ErrClosed) {
			t.Fatalf("round %d: Lock closed while cut off: %v; want ErrClosed", i, err)
		}
		p.Heal()
	}
}

// lockWaiting starts l.Lock(ctx, name) and returns once it waits, with the
// channel of its error; a lock it gets is released at once.
func lockWaiting(ctx context.Context, l *natslock.Locker, name string) <-chan error {
	waiting := make(chan struct{})
	natslock.SetWaitHook(l, func(string) { close(waiting) })
	got := make(chan error, 1)
	go func() {
		k, err := l.Lock(ctx, name, 0)
		if err == nil {
			_ = k.Unlock(ctx)
		}
		got <- err
	}()
	<-waiting
	return got
}
