package api

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkClusterSet writes on one node of a 3-node cluster (in-process
// bus), per mode, in one run: an eventual Set must cost little more than a
// StrongLocal one (publishing is off the caller's path), and the cost of a
// strong Set is its quorum round. b.N writes; the other nodes apply them.
func BenchmarkClusterSet(b *testing.B) {
	ctx := context.Background()
	c := newTestCluster[int](b, 3, clusterOpts{})
	for _, m := range []Mode{ModeStrongLocal, ModeEventualDistributed, ModeStrongDistributed} {
		prefix := fmt.Sprintf("%v:", m)
		for _, w := range c.nodes {
			if err := w.Register(prefix+"*", m, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		keys := keysN(prefix, 1024)
		b.Run(m.String(), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := c.nodes[0].Set(ctx, keys[i&1023], i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		if m != ModeStrongDistributed {
			continue
		}
		// What a context that can end costs a strong write: its store
		// write runs on a goroutine of the instance's (detached), so that
		// the caller can give up without cutting it short.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for _, tc := range []struct {
			name string
			ctx  context.Context
			txn  bool
		}{{"cancellable-ctx", cctx, false}, {"txn", ctx, true}, {"txn/cancellable-ctx", cctx, true}} {
			b.Run(m.String()+"/"+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					var err error
					if tc.txn {
						txn := c.nodes[0].Txn(tc.ctx)
						txn.Set(keys[i&1023], i)
						err = txn.Commit()
					} else {
						err = c.nodes[0].Set(tc.ctx, keys[i&1023], i)
					}
					if err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
