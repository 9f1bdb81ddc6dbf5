package jskv

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

var errClosed = errors.New("closed")

// Enter refuses an ended context and a closed gate; Close closes Done and
// waits for every admitted call to Leave.
func TestGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := g.Enter(ctx, errClosed); !errors.Is(err, context.Canceled) {
			t.Fatalf("Enter with an ended context = %v; want Canceled", err)
		}
		if err := g.Enter(context.Background(), errClosed); err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() { g.Close(); close(closed) }()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while a call was in flight")
		default:
		}
		if !g.Closed() {
			t.Fatal("Closed() = false after Close began")
		}
		select {
		case <-g.Done():
		default:
			t.Fatal("Done not closed")
		}
		if err := g.Enter(context.Background(), errClosed); !errors.Is(err, errClosed) {
			t.Fatalf("Enter after Close = %v; want the closed error", err)
		}
		g.Leave()
		<-closed
		g.Close() // idempotent
	})
}
