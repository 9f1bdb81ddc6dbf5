package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/shard"
)

// TestClusterCounter: a PN-counter incremented 10,000 times, spread over
// three nodes writing concurrently, ends at exactly 10,000, read on every
// node.
func TestClusterCounter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestCluster[merge.PNCounter](t, 3, clusterOpts{})
	for _, w := range c.nodes {
		eng := w.engine
		if err := eng.Register("hits:*", merge.MergePNCounter); err != nil {
			t.Fatal(err)
		}
	}
	c.register(t, "hits:*", ModeEventualDistributed)
	const total = 10_000
	var wg sync.WaitGroup
	for n, w := range c.nodes {
		for g := range 4 { // four writers per node
			wg.Go(func() {
				for i := n*4 + g; i < total; i += 12 {
					delta := merge.PNCounter{}.Inc(w.Node().ID(), 1)
					if i%7 == 0 { // some writes go up by 2 and down by 1
						delta = delta.Inc(w.Node().ID(), 1).Dec(w.Node().ID(), 1)
					}
					if err := w.Set(ctx, "hits:home", delta); err != nil {
						t.Errorf("node %d: %v", n, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	defer func() {
		if !t.Failed() {
			return
		}
		it, _ := c.store.Get(ctx, "hits:home")
		t.Logf("store: value %d version %d", it.Value.Value(), it.Version)
		for n, w := range c.nodes {
			v, err := w.Get(ctx, "hits:home")
			b, _ := w.router.Shard(w.router.Hash("hits:home")).Load("hits:home")
			hdr, _, _ := shard.ParseHeader(b)
			t.Logf("node %d: value %d err %v cached version %d flags %d; bus %+v; cache %+v", n, v.Value(), err, hdr.Version, hdr.Flags, w.Bus().Stats(), w.Stats())
		}
	}()
	waitFor(t, 10*time.Second, "every node reads 10000", func() bool {
		for _, w := range c.nodes {
			v, err := w.Get(ctx, "hits:home")
			if err != nil || v.Value() != total {
				return false
			}
		}
		return true
	})
}
