package natslease_test

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/internal/natstest"
)

// TestRevokeEverywhere: a lease granted on node 0, with keys attached on
// nodes 0 and 1, revoked on node 2: every node reports the union of the
// keys, once.
func TestRevokeEverywhere(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	nodes := []*node{newNode(t, srv, natslease.Config{}), newNode(t, srv, natslease.Config{}), newNode(t, srv, natslease.Config{})}
	ctx := bounded(t, 20*time.Second)

	lease, err := nodes[0].l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	binary := string([]byte{0, '.', '*', '>', ' ', 0xff, '\n'})
	attach := map[int][]string{0: {"users/1", "users/2", "a.b"}, 1: {"users/2", "orders/9", binary}}
	for i, keys := range attach {
		for _, k := range keys {
			if err := nodes[i].l.Attach(ctx, lease.ID, k); err != nil {
				t.Fatalf("node %d: Attach(%q): %v", i, k, err)
			}
		}
	}
	if err := nodes[2].l.Revoke(ctx, lease.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	want := []string{binary, "a.b", "orders/9", "users/1", "users/2"}
	slices.Sort(want)
	for i, n := range nodes {
		n.expectRevoke(t, "node "+string(rune('0'+i)), lease.ID, want)
		if got := n.l.Keys(lease.ID); got != nil {
			t.Errorf("node %d: Keys after the revocation: got %q; want nil", i, got)
		}
	}
	for i, extra := range barrier(t, ctx, nodes[2], nodes...) {
		if len(extra) > 0 {
			t.Errorf("node %d: got %d more revocations %v; want none", i, len(extra), extra)
		}
	}
}

// TestLateJoiner: a node that starts after a grant and its attachments
// knows them once New returns, and reports them at the revocation.
func TestLateJoiner(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	a := newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 20*time.Second)
	lease, err := a.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	keys := []string{"k1", "k2", strings.Repeat("x", natslease.MaxKeyLen)}
	for _, k := range keys {
		if err := a.l.Attach(ctx, lease.ID, k); err != nil {
			t.Fatalf("Attach: %v", err)
		}
	}
	// Refreshed after the attachments: the replay then sends the lease
	// entry after them.
	if err := a.l.KeepAlive(ctx, lease.ID, 0); err != nil {
		t.Fatalf("KeepAlive: %v", err)
	}
	b := newNode(t, srv, natslease.Config{})
	if got := b.l.Keys(lease.ID); !slices.Equal(got, keys) {
		t.Errorf("late joiner's Keys: got %d keys; want %d", len(got), len(keys))
	}
	if err := a.l.Revoke(ctx, lease.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	b.expectRevoke(t, "late joiner", lease.ID, keys)
	a.expectRevoke(t, "granter", lease.ID, keys)
}

// TestLateJoinerOrphans: an attachment left without its lease (here
// written directly) is revoked by a running node when it sees it (the
// lease's entry is not in the bucket), and by a node as it starts.
func TestLateJoinerOrphans(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	a := newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 20*time.Second)
	kv, err := a.js.KeyValue(ctx, natslease.DefaultBucket)
	if err != nil {
		t.Fatalf("KeyValue: %v", err)
	}
	const id = "00000000000000aa"
	if _, err := kv.Put(ctx, natslease.AttachKey(id, "o"), nil); err != nil {
		t.Fatalf("Put: %v", err)
	}
	a.expectRevoke(t, "running node", id, []string{"o"})
	b := newNode(t, srv, natslease.Config{})
	select {
	case r := <-b.revokes: // sent during New
		if r.id != id || !slices.Equal(r.keys, []string{"o"}) {
			t.Errorf("late joiner: got revocation %s %q; want %s [o]", r.id, r.keys, id)
		}
	default:
		t.Errorf("late joiner: no revocation of the orphan when New returned")
	}
	if got := b.l.Keys(id); got != nil {
		t.Errorf("late joiner's Keys of an orphan: got %q; want nil", got)
	}
}

// TestAttachRaces: an Attach whose lease is revoked between its read and
// its write, or between its write and its re-check, returns ErrNotFound,
// removes its attachment, and the key is revoked on every node.
func TestAttachRaces(t *testing.T) {
	t.Parallel()
	for _, stage := range []string{"read", "written"} {
		t.Run(stage, func(t *testing.T) {
			t.Parallel()
			srv := natstest.StartJetStream(t, nil)
			a := newNode(t, srv, natslease.Config{})
			b := newNode(t, srv, natslease.Config{})
			ctx := bounded(t, 20*time.Second)
			lease, err := a.l.Grant(ctx, time.Minute)
			if err != nil {
				t.Fatalf("Grant: %v", err)
			}
			if err := a.l.Attach(ctx, lease.ID, "before"); err != nil {
				t.Fatalf("Attach: %v", err)
			}
			natslease.SetAttachHook(a.l, func(s string) {
				if s == stage {
					if err := b.l.Revoke(ctx, lease.ID); err != nil {
						t.Errorf("Revoke: %v", err)
					}
				}
			})
			if err := a.l.Attach(ctx, lease.ID, "late"); !errors.Is(err, natslease.ErrNotFound) {
				t.Errorf("Attach racing the revocation: got %v; want ErrNotFound", err)
			}
			for i, revs := range barrier(t, ctx, b, a, b) {
				var got []string
				for _, r := range revs {
					if r.id != lease.ID {
						t.Errorf("node %d: revocation of %s; want %s", i, r.id, lease.ID)
					}
					got = append(got, r.keys...)
				}
				slices.Sort(got)
				if want := []string{"before", "late"}; !slices.Equal(got, want) {
					t.Errorf("node %d: revoked %q; want %q", i, got, want)
				}
			}
		})
	}
}

// TestNotFound: operations on a lease that never existed or ended.
func TestNotFound(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 20*time.Second)
	lease, err := n.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	if err := n.l.Revoke(ctx, lease.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	for _, id := range []string{lease.ID, "0123456789abcdef"} {
		if err := n.l.Attach(ctx, id, "k"); !errors.Is(err, natslease.ErrNotFound) {
			t.Errorf("Attach(%s): got %v; want ErrNotFound", id, err)
		} else if want := "natslease: attach " + id + ": "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Attach(%s): error %q; want it to start with %q (the operation and the lease)", id, err, want)
		}
		if err := n.l.KeepAlive(ctx, id, time.Minute); !errors.Is(err, natslease.ErrNotFound) {
			t.Errorf("KeepAlive(%s): got %v; want ErrNotFound", id, err)
		}
		if err := n.l.Revoke(ctx, id); !errors.Is(err, natslease.ErrNotFound) {
			t.Errorf("Revoke(%s): got %v; want ErrNotFound", id, err)
		}
	}
	// Nothing above brought the lease back.
	n.expectRevoke(t, "revoke", lease.ID, nil)
	if extra := barrier(t, ctx, n, n)[0]; len(extra) > 0 {
		t.Errorf("got revocations %v after the lease ended; want none", extra)
	}
}

// TestCallbackPanic: a panicking onRevoke is recovered; the watcher
// carries on.
func TestCallbackPanic(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	_, js := natstest.Connect(t, srv)
	ctx := bounded(t, 20*time.Second)
	got := make(chan string, 2)
	l, err := natslease.New(ctx, js, natslease.Config{}, func(id string, _ []string) {
		got <- id
		panic("boom")
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer l.Close()
	for range 2 {
		lease, err := l.Grant(ctx, time.Minute)
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		if err := l.Revoke(ctx, lease.ID); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		select {
		case id := <-got:
			if id != lease.ID {
				t.Errorf("revoked %s; want %s", id, lease.ID)
			}
		case <-ctx.Done():
			t.Fatalf("no revocation of %s", lease.ID)
		}
	}
}

// TestAttachPausedPastTheTombstone: an Attach paused between its read of
// the lease and its write for longer than the watchers keep the lease's
// tombstone (its TTL plus MarkerTTL) writes an attachment of a lease no
// watcher remembers. It returns ErrNotFound, and every watcher, finding
// the lease's entry gone, still revokes the key.
func TestAttachPausedPastTheTombstone(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	cfg := natslease.Config{DefaultTTL: time.Second, MarkerTTL: time.Second}
	a, b := newNode(t, srv, cfg), newNode(t, srv, cfg)
	var skew atomic.Int64 // how far the tables' clock is ahead
	for _, n := range []*node{a, b} {
		natslease.SetTableClock(n.l, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	}
	ctx := bounded(t, 30*time.Second)
	lease, err := a.l.Grant(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	natslease.SetAttachHook(a.l, func(stage string) {
		if stage != "read" {
			return
		}
		// Paused here: the lease expires, and later its tombstone goes
		// (the table forgets it at the next lease's end).
		a.expectRevoke(t, "expiry on a", lease.ID, nil)
		b.expectRevoke(t, "expiry on b", lease.ID, nil)
		skew.Store(int64(time.Hour))
		barrier(t, ctx, b, a, b)
	})
	if err := a.l.Attach(ctx, lease.ID, "late"); !errors.Is(err, natslease.ErrNotFound) {
		t.Fatalf("Attach of an expired lease: got %v; want ErrNotFound", err)
	}
	natslease.SetAttachHook(a.l, nil)
	for i, n := range []*node{a, b} {
		r := n.nextRevoke(t, 10*time.Second)
		if r.id != lease.ID || !slices.Equal(r.keys, []string{"late"}) {
			t.Errorf("node %d: got revocation %s %q; want %s [late]", i, r.id, r.keys, lease.ID)
		}
	}
}
