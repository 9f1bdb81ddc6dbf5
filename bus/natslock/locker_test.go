package natslock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/internal/chaos/proxy"
	"github.com/warpcache/warp/internal/natstest"
)

func TestTryLockHeld(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	a := newNode(t, srv, natslock.Config{})
	b := newNode(t, srv, natslock.Config{})
	ctx := bounded(t, 10*time.Second)
	ka, err := a.l.TryLock(ctx, "t", 0)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	start := time.Now()
	_, err = b.l.TryLock(ctx, "t", 0)
	if !errors.Is(err, natslock.ErrLocked) {
		t.Fatalf("TryLock of a held name: got %v; want ErrLocked", err)
	}
	if want := `natslock: lock "t": `; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("TryLock of a held name: error %q; want it to start with %q (the operation and the lock)", err, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("TryLock of a held name took %v; want under 1s", d)
	}
	if err := ka.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	kb, err := b.l.TryLock(ctx, "t", 0)
	if err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
	if kb.Token() <= ka.Token() {
		t.Errorf("got token %d after %d; want larger", kb.Token(), ka.Token())
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	a := newNode(t, srv, natslock.Config{})
	b := newNode(t, srv, natslock.Config{})
	ctx := bounded(t, 10*time.Second)
	if _, err := a.l.TryLock(ctx, "c", 0); err != nil {
		t.Fatalf("TryLock: %v", err)
	}

	t.Run("before", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := b.l.TryLock(cctx, "free", 0); !errors.Is(err, context.Canceled) {
			t.Errorf("TryLock: got %v; want context.Canceled", err)
		}
		if _, err := b.l.Lock(cctx, "c", 0); !errors.Is(err, context.Canceled) {
			t.Errorf("Lock: got %v; want context.Canceled", err)
		}
	})
	t.Run("while waiting", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		n := newNode(t, srv, natslock.Config{})
		natslock.SetWaitHook(n.l, func(string) { cancel() })
		if _, err := n.l.Lock(cctx, "c", 0); !errors.Is(err, context.Canceled) {
			t.Errorf("Lock: got %v; want context.Canceled", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := b.l.Lock(dctx, "c", 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Lock: got %v; want context.DeadlineExceeded", err)
		}
	})
}

func TestClose(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	a := newNode(t, srv, natslock.Config{})
	n := newNode(t, srv, natslock.Config{})
	ctx := bounded(t, 10*time.Second)
	k, err := a.l.TryLock(ctx, "c", 0)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}

	waiting := make(chan struct{})
	natslock.SetWaitHook(n.l, func(string) { close(waiting) })
	done := make(chan error, 1)
	go func() {
		_, err := n.l.Lock(ctx, "c", 0)
		done <- err
	}()
	<-waiting
	if err := n.l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, natslock.ErrClosed) {
		t.Errorf("waiting Lock: got %v; want ErrClosed", err)
	}
	if err := n.l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := n.l.TryLock(ctx, "other", 0); !errors.Is(err, natslock.ErrClosed) {
		t.Errorf("TryLock after Close: got %v; want ErrClosed", err)
	}

	if err := a.l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := k.Refresh(ctx, 0); !errors.Is(err, natslock.ErrClosed) {
		t.Errorf("Refresh after Close: got %v; want ErrClosed", err)
	}
	if err := k.Unlock(ctx); err != nil {
		t.Errorf("Unlock after Close: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslock.Config{})
	ctx := bounded(t, 10*time.Second)
	tests := []struct {
		name string
		ttl  time.Duration
	}{
		{"", time.Second},
		{".a", time.Second},
		{"a.", time.Second},
		{"a..b", time.Second},
		{"a b", time.Second},
		{"a*", time.Second},
		{"a>", time.Second},
		{"ключ", time.Second},
		{"ok", -time.Second},
		{strings.Repeat("a", 1025), time.Second}, // one byte over the limit
	}
	for _, tt := range tests {
		if _, err := n.l.TryLock(ctx, tt.name, tt.ttl); !errors.Is(err, natslock.ErrInvalid) {
			t.Errorf("TryLock(%q, %v): got %v; want ErrInvalid", tt.name, tt.ttl, err)
		}
		if _, err := n.l.Lock(ctx, tt.name, tt.ttl); !errors.Is(err, natslock.ErrInvalid) {
			t.Errorf("Lock(%q, %v): got %v; want ErrInvalid", tt.name, tt.ttl, err)
		}
	}
	if _, err := n.l.TryLock(ctx, strings.Repeat("a", 1025), time.Second); err == nil || !strings.Contains(err.Error(), "1025 bytes: at most 1024") {
		t.Errorf("TryLock of a 1025-byte name: %v; want it to say the length and the limit", err)
	}
	longest, err := n.l.TryLock(ctx, strings.Repeat("a", 1024), time.Second)
	if err != nil {
		t.Fatalf("TryLock of a 1024-byte name: %v; want it granted", err)
	}
	if err := longest.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	k, err := n.l.TryLock(ctx, "a/b.c-d_e=f", 0)
	if err != nil {
		t.Fatalf("TryLock of a valid name: %v", err)
	}
	if err := k.Refresh(ctx, -time.Second); !errors.Is(err, natslock.ErrInvalid) {
		t.Errorf("Refresh(-1s): got %v; want ErrInvalid", err)
	}

	configs := []natslock.Config{
		{Bucket: "a.b"},
		{Bucket: strings.Repeat("b", 253)}, // longer than the server allows
		{MarkerTTL: 500 * time.Millisecond},
		{DefaultTTL: -time.Second},
	}
	for _, cfg := range configs {
		if _, err := natslock.New(ctx, n.js, cfg); !errors.Is(err, natslock.ErrInvalid) {
			t.Errorf("New(%+v): got %v; want ErrInvalid", cfg, err)
		}
	}
	if _, err := natslock.New(ctx, nil, natslock.Config{}); !errors.Is(err, natslock.ErrInvalid) {
		t.Errorf("New(nil): got %v; want ErrInvalid", err)
	}
	// A bucket that exists without per-key TTLs cannot hold locks.
	if _, err := n.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "plain"}); err != nil {
		t.Fatalf("CreateKeyValue: %v", err)
	}
	if _, err := natslock.New(ctx, n.js, natslock.Config{Bucket: "plain"}); !errors.Is(err, natslock.ErrInvalid) {
		t.Errorf("New on a bucket without TTLs: got %v; want ErrInvalid", err)
	}
}

// TestNewConcurrent: nodes starting together all open the bucket, whoever
// creates it.
func TestNewConcurrent(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	ctx := bounded(t, 10*time.Second)
	nodes := []*node{newNode(t, srv, natslock.Config{}), newNode(t, srv, natslock.Config{}), newNode(t, srv, natslock.Config{})}
	errs := make(chan error, len(nodes))
	for _, n := range nodes {
		go func() {
			l, err := natslock.New(ctx, n.js, natslock.Config{Bucket: "together"})
			if err == nil {
				err = l.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Errorf("New: %v", err)
		}
	}
}

// TestCloseEndsACallOnAStalledServer: a TryLock waiting on a server that
// stopped answering (the proxy holds its requests) with a long deadline
// does not hold Close up to that deadline: Close ends it at once, with an
// error wrapping ErrClosed. It used to wait for the caller's context.
func TestCloseEndsACallOnAStalledServer(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	p, err := proxy.New(strings.TrimPrefix(srv.URL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	nc, err := nats.Connect(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	l, err := natslock.New(bounded(t, 10*time.Second), js, natslock.Config{Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cut(proxy.Up, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Heal)
	tried := make(chan error, 1)
	go func() {
		_, err := l.TryLock(bounded(t, time.Minute), "stalled", 0)
		tried <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); p.Stats().HeldUp == 0; <-time.After(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the TryLock's request never reached the cut")
		}
	}
	closed := make(chan struct{})
	go func() {
		_ = l.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close still waits for a TryLock on a stalled server after 20 s")
	}
	if err := <-tried; !errors.Is(err, natslock.ErrClosed) {
		t.Fatalf("the TryLock Close ended = %v; want an error wrapping ErrClosed", err)
	}
}
