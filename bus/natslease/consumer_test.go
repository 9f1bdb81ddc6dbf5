package natslease_test

import (
	"context"
	"testing"
	"time"

	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/internal/natstest"
)

// TestWatchSurvivesConsumerDeletion: the consumer a node's watcher reads
// the bucket through is deleted on the server (by an administrator, a
// client allowed to, or the server itself); a lease revoked afterwards is
// still reported on that node, with its keys.
func TestWatchSurvivesConsumerDeletion(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	a, b := newNode(t, srv, natslease.Config{}), newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 60*time.Second)
	deleted := deleteWatchers(t, ctx, a, natslease.DefaultBucket)
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
	for i, n := range []*node{a, b} {
		r := n.nextRevoke(t, 30*time.Second)
		if r.id != lease.ID || len(r.keys) != 1 || r.keys[0] != "k" {
			t.Errorf("node %d: revocation %s %q; want %s [k]", i, r.id, r.keys, lease.ID)
		}
		t.Logf("node %d: revocation reported %v after the deletion (docs/leases.md: 10 to 20 s)", i, r.at.Sub(deleted).Round(time.Millisecond))
	}
}

// A watcher whose consumer the server loses while the connection stays up
// (deleted here; a server restart or a leader change does the same) gets
// it back from the client only 10 to 20 s later: the client checks every
// 10 s for a period without a message or heartbeat, and the watcher's
// probes were delivered before the loss, so the check after it still sees
// activity and the consumer comes back at the next one (20 s here). A
// lease revoked meanwhile whose marker the server removes before then (it
// lives 2 s here) never reaches the watcher. A round trip to the server
// proves the connection, not the consumer; the watcher's probes go through
// the bucket: none comes back, so the watcher flushes instead of keeping
// the lease's key (and again for every MarkerTTL/2 of silence), and the
// first one the new consumer brings back shows the gap: a replay.
func TestLostConsumerFlushes(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	cfg := natslease.Config{Bucket: "lostconsumer", MarkerTTL: 2 * time.Second}
	flushes := make(chan string, 1024) // one a second at most: the test lasts less
	acfg := cfg
	acfg.Flush = func(id string) { flushes <- id }
	a, b := newNode(t, srv, acfg), newNode(t, srv, cfg)
	ctx := bounded(t, 60*time.Second)
	lease, err := b.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.l.Attach(ctx, lease.ID, "k"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "a sees the attachment", func() bool { return a.l.Keys(lease.ID) != nil })
	deleted := deleteWatchers(t, ctx, a, "lostconsumer")
	if err := b.l.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	natstest.AwaitGone(t, ctx, b.js, "KV_lostconsumer", "$KV.lostconsumer.lease."+lease.ID)
	select {
	case r := <-a.revokes:
		t.Fatalf("revocation of %s %q: the marker was gone before the consumer came back; the test did not make the loss it means to", r.id, r.keys)
	case id := <-flushes:
		checkFlushAll(t, id, "after the consumer's loss")
		t.Logf("flushed %v after the deletion: no probe came back", time.Since(deleted).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatalf("no flush and no revocation of %s 30 s after the consumer's loss: the lease's key stays cached", lease.ID)
	}
	// When the new consumer brings a probe back, the watcher replays the
	// bucket for the gap: the lease whose end it missed leaves its table.
	waitUntil(t, ctx, "the missed lease leaves the table", func() bool { return a.l.Keys(lease.ID) == nil })
	t.Logf("the missed lease left the table %v after the deletion (the client recreates a lost consumer after 10 to 20 s), after %d more flushes",
		time.Since(deleted).Round(time.Millisecond), len(flushes))
}

// deleteWatchers deletes, through n, the consumers of bucket's stream,
// which must be two nodes' watchers', and returns when.
func deleteWatchers(t *testing.T, ctx context.Context, n *node, bucket string) time.Time {
	t.Helper()
	stream, err := n.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for info := range stream.ListConsumers(ctx).Info() {
		names = append(names, info.Name)
	}
	if len(names) != 2 {
		t.Fatalf("consumers of the bucket: %q; want the two watchers'", names)
	}
	deleted := time.Now()
	for _, name := range names {
		if err := stream.DeleteConsumer(ctx, name); err != nil {
			t.Fatalf("DeleteConsumer(%s): %v", name, err)
		}
	}
	return deleted
}
