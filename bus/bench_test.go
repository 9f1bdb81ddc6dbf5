package bus_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/merge"
)

// BenchmarkPublishStrong: a strong publish on 3 nodes over an embedded NATS
// server, quorum 2. Compare with the raw NATS baselines below, run in the
// same process: a request with one reply, and a broadcast that waits for
// two replies (the shape of a quorum-2 strong write).
func BenchmarkPublishStrong(b *testing.B) {
	_, trs := natsNodes(b, 3)
	nodes := startNodes(b, trs, func(c *bus.Config) { c.HeartbeatInterval = 100 * time.Millisecond; c.LeaseDuration = 0 })
	converged(b, nodes)
	ctx := context.Background()
	v := merge.Version(0)
	b.ReportAllocs()
	for b.Loop() {
		v++
		if _, err := nodes[0].bus.PublishStrong(ctx, "key", v, 2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublish: the cost of an eventual publish to the caller.
func BenchmarkPublish(b *testing.B) {
	_, trs := natsNodes(b, 2)
	nodes := startNodes(b, trs, func(c *bus.Config) { c.HeartbeatInterval = 100 * time.Millisecond; c.LeaseDuration = 0 })
	v := merge.Version(0)
	b.ReportAllocs()
	for b.Loop() {
		v++
		nodes[0].bus.Publish("key", v)
	}
}

func BenchmarkNATSRequestReply(b *testing.B) {
	benchScatter(b, 1)
}

func BenchmarkNATSScatterGather2(b *testing.B) {
	benchScatter(b, 2)
}

// benchScatter publishes one message to n responders, each on its own
// connection, and waits for n replies.
func benchScatter(b *testing.B, n int) {
	srv, _ := natsNodes(b, 0)
	conn := func() *nats.Conn {
		nc, err := nats.Connect(srv.URL())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nc.Close)
		return nc
	}
	for range n {
		nc := conn()
		if _, err := nc.Subscribe("bench", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
			b.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	nc := conn()
	replies := make(chan *nats.Msg, 64)
	inbox := nats.NewInbox()
	if _, err := nc.ChanSubscribe(inbox, replies); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 40)
	timeout := time.After(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if err := nc.PublishRequest("bench", inbox, msg); err != nil {
			b.Fatal(err)
		}
		for range n {
			select {
			case <-replies:
			case <-timeout:
				b.Fatal("no reply")
			}
		}
	}
}

// BenchmarkLeaseValid: the check on every strong-key cache hit.
func BenchmarkLeaseValid(b *testing.B) {
	trs, _ := inprocTransports(1)
	nodes := startNodes(b, trs, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			nodes[0].bus.LeaseValid()
		}
	})
}

// BenchmarkPublishToApply: an eventual publish's lag, from Publish on one
// node to the Applier's Invalidate on the other, over an embedded NATS
// server; one publish at a time, p50 and p99. "busy" runs a goroutine that
// keeps a core busy meanwhile, as a reader that never blocks would.
func BenchmarkPublishToApply(b *testing.B) {
	for _, busy := range []bool{false, true} {
		b.Run(map[bool]string{false: "idle", true: "busy"}[busy], func(b *testing.B) {
			_, trs := natsNodes(b, 2)
			applied := make(chan merge.Version, 1)
			nodes := startNodes(b, trs, func(c *bus.Config) {
				if c.NodeID == "n1" {
					c.Applier = bus.ApplierFuncs{InvalidateFunc: func(_ context.Context, _ string, v merge.Version) error {
						applied <- v
						return nil
					}}
				}
			})
			converged(b, nodes)
			if busy {
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					for n := 0; ; n++ {
						if n%1024 == 0 {
							select {
							case <-stop:
								return
							default:
							}
						}
					}
				}()
				b.Cleanup(func() { close(stop); <-done })
			}
			var lags []time.Duration
			timeout := time.NewTimer(time.Minute)
			defer timeout.Stop()
			v := merge.Version(0)
			for b.Loop() {
				v++
				timeout.Reset(time.Minute) // a minute for each publish
				start := time.Now()
				nodes[0].bus.Publish("key", v)
				for got := merge.Version(0); got < v; {
					select {
					case got = <-applied:
					case <-timeout.C:
						b.Fatal("not applied within a minute")
					}
				}
				lags = append(lags, time.Since(start))
			}
			slices.Sort(lags)
			b.ReportMetric(float64(lags[len(lags)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lags[len(lags)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
