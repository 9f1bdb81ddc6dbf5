package api

import (
	"context"
	"fmt"
	"math/bits"
	"sync"
	"testing"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// BenchmarkSetFloor takes BenchmarkSet's parallel StrongLocal Set apart,
// in one run, into what it is made of:
//
//   - bigcache+memstore: BenchmarkSet's baseline of both writes in one
//     operation, raw bigcache's default layout;
//   - layout: the store write and the cache write in Warp's own cache
//     layout (one bigcache slice per shard, entries behind their header),
//     with nothing serialized;
//   - layout+lock/N: the same, with each shard's cache writes serialized by
//     a mutex, one of N (N = the shard count: one writer per shard, the
//     cheapest way to have it; N = 8× that: the same work with an eighth of
//     the contention);
//   - warp: Set, which serializes the cache write through the shard actor.
//
// docs/performance.md ("The parallel Set") reads the figures.
func BenchmarkSetFloor(b *testing.B) {
	ctx := context.Background()
	val := make([]byte, 64)
	shards := actors.DefaultShards() // what benchRouter builds
	layout := func(b *testing.B, locks int) {
		r := benchRouter(b)
		mus := make([]struct {
			sync.Mutex
			_ [56]byte // a line each, as each shard's state is its own
		}, locks)
		entry := shard.AppendHeader(nil, shard.Header{Version: 1, Expiry: 1 << 62})
		entry = append(entry, val...)
		for _, k := range benchKeyNames {
			_ = r.Shard(r.Hash(k)).Cache().Set(k, entry)
		}
		st := memory.New[[]byte](memory.Options{})
		writeParallel(b, func(k string) {
			_, _ = st.Set(ctx, k, val, store.Write{})
			h := r.Hash(k)
			v := r.Shard(h)
			if locks == 0 {
				_ = v.Cache().Set(k, entry)
				return
			}
			mu := &mus[h>>(64-bits.TrailingZeros(uint(locks)))]
			mu.Lock()
			_ = v.Cache().Set(k, entry)
			mu.Unlock()
		})
	}
	b.Run("bigcache+memstore", func(b *testing.B) { writeBoth(b, val) })
	b.Run("layout", func(b *testing.B) { layout(b, 0) })
	for _, n := range []int{shards, 8 * shards} {
		b.Run(fmt.Sprintf("layout+lock/%d", n), func(b *testing.B) { layout(b, n) })
	}
	b.Run("warp", func(b *testing.B) {
		w := benchWarp(b, val)
		writeParallel(b, func(k string) { _ = w.Set(ctx, k, val) })
	})
}

// benchRouter returns a router as a Warp instance builds it by default,
// for its shards' cache slices: the benchmark writes them directly, and
// their actors stay idle.
func benchRouter(b *testing.B) *actors.Router {
	n, err := actors.NewNode(actors.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Close() })
	r, err := n.NewRouter(actors.RouterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	return r
}
