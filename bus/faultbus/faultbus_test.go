package faultbus_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/bus/faultbus"
	"github.com/warpcache/warp/bus/inproc"
)

// With no faults set, the wrapper passes the transport contract.
func TestContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) func() bus.Transport {
		hub := inproc.NewHub()
		return func() bus.Transport { return faultbus.New(hub.Transport(), 1) }
	})
}

type sink chan string

func (s sink) HandleMessage(msg []byte) { s <- string(msg) }
func (s sink) HandleState(bus.State)    {}

// pair opens a plain sender and a faulty receiver on one hub.
func pair(t *testing.T, seed uint64) (bus.Transport, *faultbus.Transport, sink) {
	t.Helper()
	hub := inproc.NewHub()
	from := hub.Transport()
	to := faultbus.New(hub.Transport(), seed)
	got := make(sink, 1024)
	if err := from.Open("c", "from", sink(make(chan string, 1024))); err != nil {
		t.Fatal(err)
	}
	if err := to.Open("c", "to", got); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = from.Close(); _ = to.Close() })
	return from, to, got
}

// receive sends n numbered messages and collects what arrives until the
// end marker.
func receive(t *testing.T, from bus.Transport, got sink, n int) []string {
	t.Helper()
	for i := range n {
		if err := from.Broadcast(fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	deadline := time.After(5 * time.Second)
	for {
		if err := from.Broadcast([]byte("end")); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m == "end" {
				return out
			}
			out = append(out, m)
		case <-deadline:
			t.Fatalf("no end marker; got %d messages", len(out))
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults faultbus.Faults
		next   int
		check  func(t *testing.T, got []string, s faultbus.Stats)
	}{
		{"drop next", faultbus.Faults{}, 3, func(t *testing.T, got []string, s faultbus.Stats) {
			if len(got) != 7 || got[0] != "3" {
				t.Errorf("got %v; want 3..9", got)
			}
		}},
		{"drop half", faultbus.Faults{Drop: 0.5}, 0, func(t *testing.T, got []string, s faultbus.Stats) {
			if s.Dropped == 0 || len(got) == 10 {
				t.Errorf("got %d delivered, %d dropped; want some dropped", len(got), s.Dropped)
			}
		}},
		{"duplicate all", faultbus.Faults{Duplicate: 1}, 0, func(t *testing.T, got []string, s faultbus.Stats) {
			if len(got) != 20 || got[0] != got[1] {
				t.Errorf("got %v; want every message twice", got)
			}
		}},
		{"reorder", faultbus.Faults{Reorder: 0.5}, 0, func(t *testing.T, got []string, s faultbus.Stats) {
			if s.Reordered == 0 {
				t.Errorf("got no reorder in %v", got)
			}
		}},
		{"delay", faultbus.Faults{Delay: 20 * time.Millisecond}, 0, func(t *testing.T, got []string, s faultbus.Stats) {
			if len(got) != 10 {
				t.Errorf("got %d messages; want 10", len(got))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from, to, got := pair(t, 42)
			to.SetFaults(tt.faults)
			to.DropNext(tt.next)
			msgs := receive(t, from, got, 10)
			to.SetFaults(faultbus.Faults{})
			tt.check(t, msgs, to.Stats())
		})
	}
}

func TestPartition(t *testing.T) {
	t.Parallel()
	from, to, got := pair(t, 1)
	to.Partition(true)
	if err := from.Broadcast([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	if err := to.Broadcast([]byte("unsent")); err != nil {
		t.Fatal(err)
	}
	// Barrier: the partitioned node has seen (and dropped) the message.
	for deadline := time.Now().Add(5 * time.Second); to.Stats().Dropped == 0; {
		if time.Now().After(deadline) {
			t.Fatal("message sent during the partition never arrived")
		}
		<-time.After(time.Millisecond)
	}
	to.Partition(false)
	if msgs := receive(t, from, got, 1); len(msgs) != 1 || msgs[0] != "0" {
		t.Fatalf("got %v; want [0] (the message sent during the partition lost)", msgs)
	}
}
