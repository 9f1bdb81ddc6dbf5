package kafkabus_test

import (
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/kafkabus"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/natstest"
)

// BenchmarkBroadcast: one node broadcasts 64-byte messages to another,
// over Kafka (an in-process kfake broker) and, in the same run, over NATS
// (an embedded nats-server), both on loopback. "roundtrip" waits for each
// message to arrive before sending the next (latency); "window" keeps up
// to 256 in flight (throughput).
func BenchmarkBroadcast(b *testing.B) {
	transports := []struct {
		name string
		pair func(b *testing.B) (from, to bus.Transport)
	}{
		{"kafka", kafkaPair},
		{"nats", natsPair},
	}
	for _, tr := range transports {
		for _, window := range []struct {
			name string
			n    int
		}{{"roundtrip", 1}, {"window", 256}} {
			b.Run(tr.name+"/"+window.name, func(b *testing.B) {
				from, to := tr.pair(b)
				benchBroadcast(b, from, to, window.n)
			})
		}
	}
}

func kafkaPair(b *testing.B) (from, to bus.Transport) {
	c := startCluster(b)
	return newTransport(b, c, kafkabus.Options{}), newTransport(b, c, kafkabus.Options{})
}

func natsPair(b *testing.B) (from, to bus.Transport) {
	srv := natstest.Start(b, nil)
	dial := func() bus.Transport {
		tr, err := natsbus.Dial(srv.URL(), natsbus.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = tr.Close() })
		return tr
	}
	return dial(), dial()
}

// benchBroadcast opens from and to as two nodes of one cluster and
// broadcasts b.N messages from one to the other, at most window
// unacknowledged by arrival at a time.
func benchBroadcast(b *testing.B, from, to bus.Transport, window int) {
	arrived := make(chan struct{}, window)
	if err := to.Open("bench", "to", bus.HandlerFuncs{Message: func([]byte) { arrived <- struct{}{} }}); err != nil {
		b.Fatal(err)
	}
	if err := from.Open("bench", "from", bus.HandlerFuncs{}); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 64)
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	wait := func() {
		select {
		case <-arrived:
		case <-timeout.C:
			b.Fatal("a broadcast did not arrive")
		}
	}
	sent := 0
	b.ReportAllocs()
	for b.Loop() {
		if sent >= window {
			wait()
		}
		if err := from.Broadcast(msg); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	for range min(sent, window) {
		wait()
	}
}
