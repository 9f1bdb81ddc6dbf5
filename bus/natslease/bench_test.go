package natslease_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/internal/natstest"
)

// BenchmarkGrantAttachRevoke: a lease's whole life against the embedded
// server: Grant, Attach of one key, Revoke, and the wait until this
// node's watcher reported the revocation.
func BenchmarkGrantAttachRevoke(b *testing.B) {
	n := newNode(b, natstest.StartJetStream(b, nil), natslease.Config{})
	ctx := bounded(b, 10*time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		lease, err := n.l.Grant(ctx, time.Minute)
		if err == nil {
			err = n.l.Attach(ctx, lease.ID, "bench/key")
		}
		if err == nil {
			err = n.l.Revoke(ctx, lease.ID)
		}
		if err != nil {
			b.Fatal(err)
		}
		if r := <-n.revokes; r.id != lease.ID {
			b.Fatalf("revoked %s; want %s", r.id, lease.ID)
		}
	}
}

// BenchmarkKVBaseline is the baseline: the same writes as bare KV calls
// (Create of the lease, Put of the attachment, Purge of the lease), with
// no reads, TTLs or watcher.
func BenchmarkKVBaseline(b *testing.B) {
	n := newNode(b, natstest.StartJetStream(b, nil), natslease.Config{})
	ctx := bounded(b, 10*time.Minute)
	kv, err := n.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "baseline"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		id := strconv.Itoa(i)
		_, err := kv.Create(ctx, "lease."+id, []byte("60"))
		if err == nil {
			_, err = kv.Put(ctx, "attach."+id+".YmVuY2gva2V5", nil)
		}
		if err == nil {
			err = kv.Purge(ctx, "lease."+id)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeepAlive: KeepAlive of a lease with 0, 10 and 100 attached keys.
func BenchmarkKeepAlive(b *testing.B) {
	for _, keys := range []int{0, 10, 100} {
		b.Run(strconv.Itoa(keys), func(b *testing.B) {
			n := newNode(b, natstest.StartJetStream(b, nil), natslease.Config{})
			ctx := bounded(b, 10*time.Minute)
			lease, err := n.l.Grant(ctx, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			for k := range keys {
				if err := n.l.Attach(ctx, lease.ID, "k"+strconv.Itoa(k)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := n.l.KeepAlive(ctx, lease.ID, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
