package api

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// countingStore counts the loads that reach the store.
type countingStore[T any] struct {
	*memory.Store[T]
	gets atomic.Int64
}

func (s *countingStore[T]) Get(ctx context.Context, key string) (store.Item[T], error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

// BenchmarkStarvedNode measures what a starved host costs the cache: three
// nodes in one process with warp-bench's 50 ms heartbeat, a goroutine that
// keeps every processor busy, and readers of 1000 eventual (flush-policy)
// keys on every node, for 5 s (one run whatever b.N: -benchtime 1x). It
// reports, over all nodes, the flushes applied, the store loads a second,
// the share of reads served from L1, and the entries the caches still hold
// at the end. Under starvation heartbeats arrive late and leases lapse;
// each lapse used to end in a flush, which a catch-up from the origins'
// rings now replaces.
func BenchmarkStarvedNode(b *testing.B) {
	const (
		keys     = 1000
		duration = 5 * time.Second
	)
	ctx := context.Background()
	st := &countingStore[string]{Store: memory.New[string](memory.Options{})}
	for i := range keys {
		if _, err := st.Store.Set(ctx, fmt.Sprintf("e:%d", i), "v", store.Write{}); err != nil {
			b.Fatal(err)
		}
	}
	hub := inproc.NewHub()
	var flushes atomic.Int64
	var nodes []*Warp[string]
	for i := range 3 {
		w, err := New[string](st, WithNodeConfig[string](actors.Config{ID: fmt.Sprintf("n%d", i)}),
			WithBus[string](bus.Config{Cluster: "starved", Transport: hub.Transport(),
				HeartbeatInterval: 50 * time.Millisecond, LeaseDuration: 250 * time.Millisecond, StrongTimeout: 2 * time.Second}),
			WithInvalidationListener[string](func(ev Invalidation) {
				if ev.Prefix && ev.Key == "" {
					flushes.Add(1)
				}
			}))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = w.Close() })
		if err := w.Register("e:*", ModeEventualDistributed, time.Hour); err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, w)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, w := range nodes {
		for !w.Bus().LeaseValid() && time.Now().Before(deadline) {
			<-time.After(time.Millisecond)
		}
	}
	for _, w := range nodes { // warm every cache
		for i := range keys {
			_, _ = w.Get(ctx, fmt.Sprintf("e:%d", i))
		}
	}
	flushes.Store(0)
	loads0 := st.gets.Load()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) { // the starvation: every processor busy
		wg.Go(func() {
			for x := 0; !stop.Load(); x++ {
				_ = x * x
			}
		})
	}
	var reads atomic.Int64
	for _, w := range nodes {
		for r := range 2 {
			wg.Go(func() {
				for i := r; !stop.Load(); i++ {
					_, _ = w.Get(ctx, fmt.Sprintf("e:%d", i%keys))
					reads.Add(1)
				}
			})
		}
	}
	b.ResetTimer()
	<-time.After(duration)
	stop.Store(true)
	wg.Wait()
	b.StopTimer()
	loads := st.gets.Load() - loads0
	kept := uint64(0)
	for _, w := range nodes {
		kept += w.Stats().Entries
	}
	b.ReportMetric(float64(flushes.Load()), "flushes")
	b.ReportMetric(float64(loads)/duration.Seconds(), "loads/s")
	b.ReportMetric(1-float64(loads)/float64(max(reads.Load(), 1)), "L1-share")
	b.ReportMetric(float64(kept)/float64(3*keys), "kept")
}
