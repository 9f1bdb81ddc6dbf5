package natslock_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

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
	p, holder, waiter, ctx := proxiedWaiter(t, bucket)
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

// proxiedWaiter starts a server with bucket, a holder connected to it
// directly and a waiter connected through a loopback fault proxy, and
// returns them with a context bounded to 60 s.
func proxiedWaiter(t *testing.T, bucket string) (*proxy.Proxy, *node, *natslock.Locker, context.Context) {
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
	return p, holder, waiter, ctx
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

// A waiter cut off for many MarkerTTLs, its client reconnecting in vain,
// does not send the server a burst of reads when the cut heals: a poll
// first proves the connection with a PING, so its read is not left in the
// client's reconnect buffer with those of every poll before it.
func TestWaiterCutOffSendsNoBurstOfReads(t *testing.T) {
	t.Parallel()
	p, holder, waiter, ctx := proxiedWaiter(t, "burst")
	if _, err := holder.l.TryLock(ctx, "c", time.Minute); err != nil { // held throughout
		t.Fatal(err)
	}
	got := lockWaiting(ctx, waiter, "c")
	if err := p.Cut(proxy.Both, true); err != nil {
		t.Fatal(err)
	}
	const polls = 8
	<-time.After(polls * natslock.DefaultMarkerTTL) // a poll a MarkerTTL
	// The server's view: every read of the bucket's keys, direct or not.
	var reads atomic.Int64
	for _, subj := range []string{"$JS.API.DIRECT.GET.KV_burst.>", "$JS.API.STREAM.MSG.GET.KV_burst"} {
		sub, err := holder.nc.Subscribe(subj, func(*nats.Msg) { reads.Add(1) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	if err := holder.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	p.Heal()
	// Reconnected and flushed. The poll whose PING waited in the buffer may
	// read once its PONG comes back, and the next poll may fall in this
	// window too; the old waiter's reads came all at once, one per poll.
	<-time.After(natslock.DefaultMarkerTTL / 2)
	if n := reads.Load(); n > 2 {
		t.Fatalf("the server got %d reads right after the heal of a cut %d polls long; want at most 2", n, polls)
	}
	select {
	case err := <-got:
		t.Fatalf("the waiter returned while the lock is held: %v", err)
	default:
	}
}
