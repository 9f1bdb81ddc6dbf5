package natslease_test

import (
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
	stream, err := a.js.Stream(ctx, "KV_"+natslease.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range stream.ListConsumers(ctx).Info() {
		names = append(names, name.Name)
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
		t.Logf("node %d: revocation reported %v after the deletion (docs/leases.md: about 10 s)", i, r.at.Sub(deleted).Round(time.Millisecond))
	}
}
