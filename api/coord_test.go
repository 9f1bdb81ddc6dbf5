package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/internal/natstest"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// coordMarkerTTL is the life of the lease buckets' markers in these tests.
const coordMarkerTTL = 10 * time.Second

// coordNodes starts an embedded JetStream server and n instances sharing
// one store, each with its own connection, leases and locks.
func coordNodes(t *testing.T, n int) ([]*Warp[string], *memory.Store[string]) {
	t.Helper()
	// Markers live 10 s: a watcher flushes after a gap of half that
	// between two proofs of its connection, which a loaded host must not
	// reach while a test checks what stays cached.
	nodes, st, _ := coordNodesWith(t, n, natslease.Config{MarkerTTL: coordMarkerTTL})
	return nodes, st
}

// coordNodesWith is coordNodes with leases configured by lc; it also
// returns a JetStream client of its own.
func coordNodesWith(t *testing.T, n int, lc natslease.Config) ([]*Warp[string], *memory.Store[string], jetstream.JetStream) {
	t.Helper()
	srv := natstest.StartJetStream(t, nil)
	st := memory.New[string](memory.Options{})
	var nodes []*Warp[string]
	for i := range n {
		js := jsClient(t, srv.URL())
		w, err := New[string](st,
			WithNodeConfig[string](actors.Config{ID: fmt.Sprintf("n%d", i)}),
			WithLeases[string](js, lc),
			WithLocks[string](js, natslock.Config{}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		if err := w.Register("k:*", ModeStrongLocal, time.Hour); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, w)
	}
	return nodes, st, jsClient(t, srv.URL())
}

// jsClient connects a JetStream client of its own to url.
func jsClient(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	_, js := natstest.ConnectURL(t, url)
	return js
}

// A lease with more keys attached than natslease.Config.MaxAttachments
// (here written by another client of the bucket) is one whose keys the
// watchers did not keep: its end flushes every node's cache. An Attach
// past the bound is refused.
func TestOverflowedLeaseFlushes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var callersFlush atomic.Bool // WithLeases replaces a Flush of the caller's
	nodes, st, js := coordNodesWith(t, 2, natslease.Config{MarkerTTL: coordMarkerTTL, MaxAttachments: 2,
		Flush: func(string) { callersFlush.Store(true) }})
	keys := []string{"k:1", "k:2", "k:3", "k:free"}
	for _, k := range keys {
		_, _ = st.Set(ctx, k, "v", store.Write{})
		for _, w := range nodes {
			_, _ = w.Get(ctx, k)
		}
	}
	lease, err := nodes[0].GrantLease(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[:2] {
		if err := nodes[0].AttachLease(ctx, lease.ID, k); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "node 1 sees both attachments", func() bool { return len(nodes[1].leases.Keys(lease.ID)) == 2 })
	if err := nodes[1].AttachLease(ctx, lease.ID, "k:3"); !errors.Is(err, natslease.ErrTooManyKeys) {
		t.Fatalf("AttachLease past MaxAttachments: %v; want ErrTooManyKeys", err)
	}
	kv, err := js.KeyValue(ctx, natslease.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "attach."+lease.ID+"."+base64.RawURLEncoding.EncodeToString([]byte("k:3")), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "every watcher past the bound", func() bool {
		return nodes[0].leases.Keys(lease.ID) == nil && nodes[1].leases.Keys(lease.ID) == nil
	})
	for _, w := range nodes {
		if !cached(w, "k:free") {
			t.Fatal("a key not attached to the lease was dropped before the lease ended")
		}
	}
	if err := nodes[1].RevokeLease(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "every node flushes", func() bool {
		for _, w := range nodes {
			for _, k := range keys {
				if cached(w, k) {
					return false
				}
			}
		}
		return true
	})
	if callersFlush.Load() {
		t.Fatal("the Flush given to WithLeases was called; want the instance's own")
	}
}

func cached(w *Warp[string], key string) bool {
	_, ok := w.router.Shard(w.router.Hash(key)).Load(key)
	return ok
}

func TestLeaseRevokeOnEveryNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	nodes, st := coordNodes(t, 2)
	for _, k := range []string{"k:1", "k:2", "k:free"} {
		_, _ = st.Set(ctx, k, "v", store.Write{})
		for _, w := range nodes {
			_, _ = w.Get(ctx, k)
		}
	}
	lease, err := nodes[0].GrantLease(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].AttachLease(ctx, lease.ID, "k:1"); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].AttachLease(ctx, lease.ID, "k:2"); err != nil { // attached on another node
		t.Fatal(err)
	}
	if err := nodes[1].RevokeLease(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "every node drops the lease's keys", func() bool {
		for _, w := range nodes {
			if cached(w, "k:1") || cached(w, "k:2") {
				return false
			}
		}
		return true
	})
	for _, w := range nodes {
		if !cached(w, "k:free") {
			t.Fatal("a key not attached to the lease was dropped")
		}
	}
}

func TestLeaseExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	nodes, st := coordNodes(t, 2)
	_, _ = st.Set(ctx, "k:1", "v", store.Write{})
	for _, w := range nodes {
		_, _ = w.Get(ctx, "k:1")
	}
	start := time.Now()
	lease, err := nodes[0].GrantLease(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = nodes[0].AttachLease(ctx, lease.ID, "k:1")
	waitFor(t, 10*time.Second, "the unrenewed lease expires and revokes on every node", func() bool {
		return !cached(nodes[0], "k:1") && !cached(nodes[1], "k:1")
	})
	if d := time.Since(start); d < time.Second {
		t.Fatalf("revoked after %v, before the lease's TTL", d)
	}
}

func TestLockFencedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	nodes, st := coordNodes(t, 2)
	l1, err := nodes[0].Lock(ctx, "res", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[1].TryLock(ctx, "res", time.Second); !errors.Is(err, natslock.ErrLocked) {
		t.Fatalf("TryLock of a held lock: err = %v; want ErrLocked", err)
	}
	if err := nodes[0].SetFenced(ctx, "k:1", "by first holder", l1.Token()); err != nil {
		t.Fatal(err)
	}
	_ = l1.Unlock(ctx) // (or its TTL ran out while it was paused)
	l2, err := nodes[1].Lock(ctx, "res", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Token() <= l1.Token() {
		t.Fatalf("token %d after %d; want larger", l2.Token(), l1.Token())
	}
	if err := nodes[1].SetFenced(ctx, "k:1", "by second holder", l2.Token()); err != nil {
		t.Fatal(err)
	}
	// The first holder, unaware, writes with its old token: rejected.
	if err := nodes[0].SetFenced(ctx, "k:1", "stale", l1.Token()); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale holder's write: err = %v; want store.ErrFenced", err)
	}
	if it, _ := st.Get(ctx, "k:1"); it.Value != "by second holder" {
		t.Fatalf("store = %q; want the second holder's write", it.Value)
	}
	if v, _ := nodes[0].Get(ctx, "k:1"); v != "by second holder" {
		t.Fatalf("first node reads %q; want the second holder's write", v)
	}
	_ = l2.Unlock(ctx)
}

func TestNoCoordination(t *testing.T) {
	t.Parallel()
	w := newWarp(t, memory.New[string](memory.Options{}))
	if _, err := w.GrantLease(context.Background(), time.Second); !errors.Is(err, ErrNoCoordination) {
		t.Fatalf("GrantLease: %v; want ErrNoCoordination", err)
	}
	if _, err := w.Lock(context.Background(), "x", time.Second); !errors.Is(err, ErrNoCoordination) {
		t.Fatalf("Lock: %v; want ErrNoCoordination", err)
	}
}

// TestCoordinationAfterClose: the lease and lock calls of a closed
// instance fail with errors wrapping ErrClosed, as its other calls do.
func TestCoordinationAfterClose(t *testing.T) {
	t.Parallel()
	nodes, _ := coordNodes(t, 1)
	w := nodes[0]
	ctx := context.Background()
	l, err := w.GrantLease(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"GrantLease":     func() error { _, err := w.GrantLease(ctx, time.Minute); return err },
		"AttachLease":    func() error { return w.AttachLease(ctx, l.ID, "k:1") },
		"KeepAliveLease": func() error { return w.KeepAliveLease(ctx, l.ID, 0) },
		"RevokeLease":    func() error { return w.RevokeLease(ctx, l.ID) },
		"Lock":           func() error { _, err := w.Lock(ctx, "l", 0); return err },
		"TryLock":        func() error { _, err := w.TryLock(ctx, "l", 0); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v; want an error wrapping ErrClosed", name, err)
		}
	}
}
