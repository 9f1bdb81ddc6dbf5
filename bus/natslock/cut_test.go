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
// marker; it still gets the free lock once back, instead of waiting until
// its context ends.
func TestWaiterCutOffPastTheReleaseGetsTheLock(t *testing.T) {
	t.Parallel()
	releasedInACut(t, "cut", func(p *proxy.Proxy) {
		if err := p.Cut(proxy.Both, true); err != nil {
			t.Fatal(err)
		}
	})
}

// A waiter whose poll read is lost with its connection (sent into a cut
// the client does not notice, then the connection dropped before any
// answer) does not wait on that read until its context ends (60 s here),
// deaf to markers meanwhile: each read is bounded by a MarkerTTL, and one
// after the heal finds the lock free.
func TestWaiterWhoseReadIsLostGetsTheLock(t *testing.T) {
	t.Parallel()
	releasedInACut(t, "lost", func(p *proxy.Proxy) {
		if err := p.Cut(proxy.Both, false); err != nil { // silent: the client notices nothing
			t.Fatal(err)
		}
		<-time.After(3 * natslock.DefaultMarkerTTL / 2) // a poll's read goes into the cut
		p.Drop()                                        // and is lost with the connection
	})
}

// releasedInACut has a waiter, behind a proxy, wait for a lock that its
// holder releases while cut starts a cut of the waiter's connection;
// the cut lasts until the release's marker is gone. The waiter must get
// the lock within 20 s of the heal (its Lock's ctx lasts 60 s).
func releasedInACut(t *testing.T, bucket string, cut func(*proxy.Proxy)) {
	srv := natstest.StartJetStream(t, nil)
	p, js := natstest.Proxied(t, srv)
	cfg := natslock.Config{Bucket: bucket}
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
	cut(p)
	if err := k.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	natstest.AwaitGone(t, ctx, holder.js, "KV_"+bucket, "$KV."+bucket+".c")
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
// waiter took that for a lost connection about one time in three. Close
// does not wait for the server: a waiter that stopped its watch itself
// waited for the consumer's deletion, 5 s, in most rounds.
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
		// Odd rounds close past the first poll, whose read is stuck; even
		// ones before it, with the waiter idle.
		<-time.After([]time.Duration{300 * time.Millisecond, 1200 * time.Millisecond}[i%2])
		t0 := time.Now()
		_ = waiter.Close()
		if took := time.Since(t0); took > 2*time.Second { // 5 s, the consumer's deletion, or milliseconds
			t.Fatalf("round %d: Close while cut off took %v: it waited for the server", i, took)
		}
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
