package natslock_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/internal/natstest"
)

// BenchmarkLockUnlock: TryLock + Unlock, a full grant and release against
// the embedded server, of one name again and again (the key holds the last
// release's marker, so Create checks it: 3 round trips) and of a fresh name
// each time (1 round trip).
func BenchmarkLockUnlock(b *testing.B) {
	n := newNode(b, natstest.StartJetStream(b, nil), natslock.Config{})
	benchNames(b, func(ctx context.Context, name string) error {
		k, err := n.l.TryLock(ctx, name, 30*time.Second)
		if err != nil {
			return err
		}
		return k.Unlock(ctx)
	})
}

// BenchmarkKVCreateDelete is the baseline: a bare KV Create and a Delete
// guarded by its revision, the least a lock on JetStream KV costs.
func BenchmarkKVCreateDelete(b *testing.B) {
	n := newNode(b, natstest.StartJetStream(b, nil), natslock.Config{})
	kv, err := n.js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: "baseline"})
	if err != nil {
		b.Fatal(err)
	}
	benchNames(b, func(ctx context.Context, name string) error {
		rev, err := kv.Create(ctx, name, []byte("owner"))
		if err != nil {
			return err
		}
		return kv.Delete(ctx, name, jetstream.LastRevision(rev))
	})
}

// BenchmarkLockUnlockParallel: grant and release from parallel goroutines,
// each on its own name, over one connection.
func BenchmarkLockUnlockParallel(b *testing.B) {
	n := newNode(b, natstest.StartJetStream(b, nil), natslock.Config{})
	var ids atomic.Int64
	ctx := bounded(b, 10*time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		name := fmt.Sprintf("bench%d", ids.Add(1))
		for pb.Next() {
			k, err := n.l.TryLock(ctx, name, 30*time.Second)
			if err == nil {
				err = k.Unlock(ctx)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchNames runs op on one name ("same") and on a fresh name per
// iteration ("fresh").
func benchNames(b *testing.B, op func(ctx context.Context, name string) error) {
	ctx := bounded(b, 10*time.Minute)
	b.Run("same", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := op(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	var i int
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			i++
			if err := op(ctx, "fresh"+strconv.Itoa(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
