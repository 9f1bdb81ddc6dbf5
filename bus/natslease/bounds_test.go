package natslease_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/internal/natstest"
)

// forge writes, as another client of the server could, an attachment of
// key to lease id for each pair, pipelined.
func forge(tb testing.TB, ctx context.Context, js jetstream.JetStream, pairs [][2]string) {
	tb.Helper()
	for _, p := range pairs {
		subject := "$KV." + natslease.DefaultBucket + "." + natslease.AttachKey(p[0], p[1])
		if _, err := js.PublishMsgAsync(&nats.Msg{Subject: subject}); err != nil {
			tb.Fatalf("forge %s %q: %v", p[0], p[1], err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		tb.Fatalf("forge: %d attachments not acknowledged: %v", js.PublishAsyncPending(), ctx.Err())
	}
}

// keysOf returns n keys "k0", "k1", ...
func keysOf(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	return keys
}

// TestAttachBounded: Attach of a new key to a lease that has
// MaxAttachments keys, as the node's watcher knows them, is refused with
// ErrTooManyKeys; attaching one of its keys again is not.
func TestAttachBounded(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslease.Config{MaxAttachments: 3})
	ctx := bounded(t, 20*time.Second)
	lease, err := n.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	for _, k := range keysOf(3) {
		if err := n.l.Attach(ctx, lease.ID, k); err != nil {
			t.Fatalf("Attach(%s): %v", k, err)
		}
	}
	barrier(t, ctx, n, n) // the watcher has seen the attachments
	if err := n.l.Attach(ctx, lease.ID, "one more"); !errors.Is(err, natslease.ErrTooManyKeys) {
		t.Errorf("Attach of a 4th key with MaxAttachments 3: got %v; want ErrTooManyKeys", err)
	}
	if err := n.l.Attach(ctx, lease.ID, "k1"); err != nil {
		t.Errorf("Attach of an attached key again: got %v; want nil", err)
	}
	if got, want := n.l.Keys(lease.ID), keysOf(3); !slices.Equal(got, want) {
		t.Errorf("Keys: got %q; want %q", got, want)
	}
}

// TestOverflowFlushes: a lease whose attachments, written by another
// client, pass a node's MaxAttachments stops growing in that node's
// table (Keys is nil), and its end calls Flush instead of the
// RevokeFunc; a node without a Flush keeps recording the keys, and reports
// them all. A node whose table kept every key used to hold them all in
// memory, whatever their number.
func TestOverflowFlushes(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	flushes := make(chan string, 16)
	writer := newNode(t, srv, natslease.Config{})
	flushing := newNode(t, srv, natslease.Config{MaxAttachments: 3, Flush: func(id string) { flushes <- id }})
	unbounded := newNode(t, srv, natslease.Config{MaxAttachments: 3})
	ctx := bounded(t, 20*time.Second)
	lease, err := writer.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	keys := keysOf(5)
	for _, k := range keys {
		if err := writer.l.Attach(ctx, lease.ID, k); err != nil {
			t.Fatalf("Attach(%s): %v", k, err)
		}
	}
	barrier(t, ctx, writer, writer, flushing, unbounded)
	if got := flushing.l.Keys(lease.ID); got != nil {
		t.Errorf("flushing node: Keys of a lease past MaxAttachments: got %q; want nil", got)
	}
	if got := unbounded.l.Keys(lease.ID); !slices.Equal(got, keys) {
		t.Errorf("node without Flush: Keys: got %q; want %q", got, keys)
	}
	if err := writer.l.Revoke(ctx, lease.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	writer.expectRevoke(t, "writer", lease.ID, keys)
	unbounded.expectRevoke(t, "node without Flush", lease.ID, keys)
	select {
	case id := <-flushes:
		if id != lease.ID {
			t.Errorf("flushing node: Flush(%s); want Flush(%s)", id, lease.ID)
		}
	case <-ctx.Done():
		t.Fatalf("flushing node: no Flush of %s", lease.ID)
	}
	if extra := barrier(t, ctx, writer, flushing)[0]; len(extra) > 0 {
		t.Errorf("flushing node: got revocations %v besides the Flush; want none", extra)
	}
	if len(flushes) > 0 {
		t.Errorf("flushing node: %d more Flush calls; want none", len(flushes))
	}
}

// TestKeepAliveBounded: KeepAlive lists at most MaxAttachments+1
// attachments; a lease with more is revoked (ErrTooManyKeys), and its end
// reaches every node; one with MaxAttachments exactly is kept alive. A
// KeepAlive used to list and rewrite every attachment, whatever their
// number.
func TestKeepAliveBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		keys int
		want error
	}{
		{3, nil},
		{4, natslease.ErrTooManyKeys},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.keys, "keys"), func(t *testing.T) {
			t.Parallel()
			srv := natstest.StartJetStream(t, nil)
			writer := newNode(t, srv, natslease.Config{})
			bounded3 := newNode(t, srv, natslease.Config{MaxAttachments: 3})
			ctx := bounded(t, 20*time.Second)
			lease, err := writer.l.Grant(ctx, time.Minute)
			if err != nil {
				t.Fatalf("Grant: %v", err)
			}
			keys := keysOf(tt.keys)
			for _, k := range keys {
				if err := writer.l.Attach(ctx, lease.ID, k); err != nil {
					t.Fatalf("Attach(%s): %v", k, err)
				}
			}
			if err := bounded3.l.KeepAlive(ctx, lease.ID, 0); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("KeepAlive of a lease with %d keys, MaxAttachments 3: got %v; want %v", tt.keys, err, tt.want)
			}
			if tt.want == nil {
				if extra := barrier(t, ctx, writer, writer)[0]; len(extra) > 0 {
					t.Errorf("revocations %v after KeepAlive; want none", extra)
				}
				return
			}
			writer.expectRevoke(t, "writer", lease.ID, keys)
			if err := writer.l.KeepAlive(ctx, lease.ID, 0); !errors.Is(err, natslease.ErrNotFound) {
				t.Errorf("KeepAlive after the revocation: got %v; want ErrNotFound", err)
			}
		})
	}
}

// readGate holds up the reads of unknown leases' entries of a node until
// released, counting them.
type readGate struct {
	release chan struct{}
	in      atomic.Int64 // reads held now
	peak    atomic.Int64 // most reads held at once
}

func holdReads(n *node) *readGate {
	g := &readGate{release: make(chan struct{})}
	natslease.SetResolveHook(n.l, func(ctx context.Context, _ string) {
		in := g.in.Add(1)
		defer g.in.Add(-1)
		for p := g.peak.Load(); in > p && !g.peak.CompareAndSwap(p, in); p = g.peak.Load() {
		}
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	})
	return g
}

// TestUnknownLeasesDoNotHoldUpRevocations: the reads of the entries of
// leases that forged attachments name are held up; a real lease revoked
// after the forgeries is reported all the same, and the forged keys once
// the reads return. The watcher used to read each unknown lease itself,
// for up to 5 s, before the next entry.
func TestUnknownLeasesDoNotHoldUpRevocations(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	a, b := newNode(t, srv, natslease.Config{}), newNode(t, srv, natslease.Config{})
	reads := holdReads(b)
	ctx := bounded(t, 30*time.Second)
	forged := map[string]string{"00000000000000f1": "x1", "00000000000000f2": "x2", "00000000000000f3": "x3"}
	var pairs [][2]string
	for id, k := range forged {
		pairs = append(pairs, [2]string{id, k})
	}
	forge(t, ctx, a.js, pairs)
	lease, err := a.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	if err := a.l.Attach(ctx, lease.ID, "k"); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if err := a.l.Revoke(ctx, lease.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	b.expectRevoke(t, "real lease behind held reads", lease.ID, []string{"k"})
	close(reads.release)
	for range len(forged) { // not range forged: its entries are deleted in the loop
		r := b.nextRevoke(t, 10*time.Second)
		if k, ok := forged[r.id]; !ok || !slices.Equal(r.keys, []string{k}) {
			t.Errorf("got revocation %s %q; want one of the forged leases with its key", r.id, r.keys)
		}
		delete(forged, r.id)
	}
	if peak := reads.peak.Load(); peak > natslease.MaxReads {
		t.Errorf("%d reads at once; want at most %d", peak, natslease.MaxReads)
	}
}

// TestUnknownLeasesBounded: while the reads of unknown leases are held
// up, at most MaxReads run and MaxResolving leases wait; the key of one
// more is revoked at once. Once the reads return, every forged lease is
// revoked, the one refused included.
func TestUnknownLeasesBounded(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	b := newNode(t, srv, natslease.Config{})
	_, forger := natstest.Connect(t, srv)
	reads := holdReads(b)
	ctx := bounded(t, 60*time.Second)
	pairs := make([][2]string, natslease.MaxResolving+1)
	for i := range pairs {
		pairs[i] = [2]string{fmt.Sprintf("%016x", i+1), "x"}
	}
	forge(t, ctx, forger, pairs)
	refused := pairs[len(pairs)-1][0]
	before := barrier(t, ctx, b, b)[0]
	if len(before) != 1 || before[0].id != refused || !slices.Equal(before[0].keys, []string{"x"}) {
		t.Fatalf("revocations while %d reads are held: got %v; want the last forged lease's key alone, %s [x]", natslease.MaxResolving, before, refused)
	}
	if peak := reads.peak.Load(); peak > natslease.MaxReads {
		t.Errorf("%d reads at once; want at most %d", peak, natslease.MaxReads)
	}
	close(reads.release)
	left := map[string]bool{}
	for _, p := range pairs {
		left[p[0]] = true
	}
	for i := 0; len(left) > 0 && i < 2*len(pairs); i++ {
		r := b.nextRevoke(t, 10*time.Second)
		if !slices.Equal(r.keys, []string{"x"}) {
			t.Errorf("revocation %s %q; want %s [x]", r.id, r.keys, r.id)
		}
		delete(left, r.id)
	}
	if len(left) > 0 {
		t.Errorf("%d forged leases never revoked after the reads returned, e.g. %v", len(left), left)
	}
}

// TestLeasesBounded: a node whose watcher tracks MaxLeases leases (8)
// tracks no more, whoever writes them: (a) its table holds at most 8
// leases and 8 tombstones; (b) a key attached to a lease it does not
// track is revoked at once, and that lease's end calls Flush, so that a
// copy cached again meanwhile is dropped, also when the lease was tracked
// by then, through a key attached after a slot freed up; (c) a lease
// tracked before the bound was passed, or after a slot freed up, still
// ends with its keys. The watcher used to track every lease, whatever
// their number.
func TestLeasesBounded(t *testing.T) {
	t.Parallel()
	const maxLeases = 8
	srv := natstest.StartJetStream(t, nil)
	flushes := make(chan string, 16)
	writer := newNode(t, srv, natslease.Config{})
	b := newNode(t, srv, natslease.Config{MaxLeases: maxLeases, Flush: func(id string) { flushes <- id }})
	ctx := bounded(t, 60*time.Second)
	grant := func() string {
		t.Helper()
		lease, err := writer.l.Grant(ctx, time.Minute)
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		return lease.ID
	}
	attach := func(id, key string) {
		t.Helper()
		if err := writer.l.Attach(ctx, id, key); err != nil {
			t.Fatalf("Attach(%s, %s): %v", id, key, err)
		}
	}
	revoke := func(id string) {
		t.Helper()
		if err := writer.l.Revoke(ctx, id); err != nil {
			t.Fatalf("Revoke(%s): %v", id, err)
		}
	}
	expectFlush := func(name, id string) {
		t.Helper()
		select {
		case got := <-flushes:
			if got != id {
				t.Errorf("%s: Flush(%s); want Flush(%s)", name, got, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no Flush(%s) within 10s", name, id)
		}
	}

	tracked := grant()
	attach(tracked, "t")
	fill := []string{tracked}
	for len(fill) < maxLeases {
		fill = append(fill, grant())
	}
	untracked := grant()
	attach(untracked, "u")
	forged := make([][2]string, 20) // few: each sets 2 of the filter's 65,536 bits, and a lease it names by error would flush
	for i := range forged {
		forged[i] = [2]string{fmt.Sprintf("%016x", i+1), "x"}
	}
	forge(t, ctx, writer.js, forged)
	before := barrier(t, ctx, writer, b)[0]
	if len(before) != 1+len(forged) || before[0].id != untracked || !slices.Equal(before[0].keys, []string{"u"}) {
		t.Fatalf("revocations past MaxLeases: got %d, first %v; want %s [u], then the %d forged keys, each revoked at once",
			len(before), before[:min(1, len(before))], untracked, len(forged))
	}
	for i, r := range before[1:] {
		if r.id != forged[i][0] || !slices.Equal(r.keys, []string{"x"}) {
			t.Errorf("revocation %d: got %s %q; want %s [x]", i+1, r.id, r.keys, forged[i][0])
		}
	}
	if leases, _ := natslease.TableLen(b.l); leases != maxLeases {
		t.Errorf("(a) %d leases tracked after %d granted and %d forged; want %d", leases, maxLeases+1, len(forged), maxLeases)
	}
	if got := b.l.Keys(tracked); !slices.Equal(got, []string{"t"}) {
		t.Errorf("(c) Keys of a lease tracked before the bound: got %q; want [t]", got)
	}

	// (b) The key u was revoked at once, and may be cached again: the end
	// of its lease, not tracked, flushes.
	revoke(untracked)
	expectFlush("(b) end of an untracked lease", untracked)

	// (b) A lease with a key refused, then tracked when a slot frees up
	// (a key attached to it then), does not know the key refused: its end
	// flushes too.
	later := grant()
	attach(later, "v1")
	b.expectRevoke(t, "key of an untracked lease", later, []string{"v1"})
	revoke(fill[1])
	b.expectRevoke(t, "a lease tracked", fill[1], nil)
	attach(later, "v2")
	revoke(later)
	expectFlush("(b) end of a lease tracked after one of its keys was refused", later)

	// (c) Leases tracked report their keys, before the bound was passed
	// and after.
	fresh := grant()
	attach(fresh, "w")
	revoke(fresh)
	b.expectRevoke(t, "(c) a lease tracked after a slot freed up", fresh, []string{"w"})
	revoke(tracked)
	b.expectRevoke(t, "(c) a lease tracked before the bound", tracked, []string{"t"})
	for _, id := range fill[2:] {
		revoke(id)
	}
	if extra := barrier(t, ctx, writer, b)[0]; len(extra) != len(fill[2:]) {
		t.Errorf("revocations of the leases left: got %v; want %d", extra, len(fill[2:]))
	}
	if leases, tombs := natslease.TableLen(b.l); leases != 0 || tombs > maxLeases {
		t.Errorf("(a) after every lease ended: %d leases, %d tombstones; want 0 and at most %d", leases, tombs, maxLeases)
	}
	if len(flushes) > 0 {
		t.Errorf("%d more Flush calls; want none", len(flushes))
	}
}

// TestUnknownAttachmentMarkersResolved: markers of attachments of leases
// the watcher does not know (forged, or outliving their lease's
// tombstone) are read like attachments: the lease, gone, ends, and the
// watcher keeps nothing of them. They used to be tracked, pending, for
// ever.
func TestUnknownAttachmentMarkersResolved(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 20*time.Second)
	kv, err := n.js.KeyValue(ctx, natslease.DefaultBucket)
	if err != nil {
		t.Fatalf("KeyValue: %v", err)
	}
	ids := map[string]bool{"00000000000000e1": true, "00000000000000e2": true}
	for id := range ids {
		if err := kv.Delete(ctx, natslease.AttachKey(id, "m")); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	for range len(ids) { // not range ids: its entries are deleted in the loop
		r := n.nextRevoke(t, 10*time.Second)
		if !ids[r.id] || !slices.Equal(r.keys, []string{"m"}) {
			t.Errorf("got revocation %s %q; want one of %v with [m]", r.id, r.keys, ids)
		}
		delete(ids, r.id)
	}
	if leases, _ := natslease.TableLen(n.l); leases != 0 {
		t.Errorf("%d leases tracked after the markers were read; want 0", leases)
	}
}

// TestMarkerAfterTheEndRevokes: a watcher that fell behind by an
// attachment's TTL receives only the attachment's expiry marker, maybe
// after its lease's end, which then did not name the key: the marker
// revokes the key. It used to be ignored, and the key stayed cached.
func TestMarkerAfterTheEndRevokes(t *testing.T) {
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
	if r := n.nextRevoke(t, 10*time.Second); r.id != lease.ID || len(r.keys) != 0 {
		t.Fatalf("got revocation %s %q; want %s with no keys", r.id, r.keys, lease.ID)
	}
	kv, err := n.js.KeyValue(ctx, natslease.DefaultBucket)
	if err != nil {
		t.Fatalf("KeyValue: %v", err)
	}
	// The marker of an attachment this watcher never received.
	if err := kv.Delete(ctx, natslease.AttachKey(lease.ID, "k")); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if r := n.nextRevoke(t, 10*time.Second); r.id != lease.ID || !slices.Equal(r.keys, []string{"k"}) {
		t.Fatalf("got revocation %s %q; want %s with [k]", r.id, r.keys, lease.ID)
	}
}
