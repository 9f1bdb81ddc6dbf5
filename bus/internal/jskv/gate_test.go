package jskv

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

var errClosed = errors.New("closed")

// Enter refuses an ended context and a closed gate; Close closes Done, ends
// the admitted calls' contexts (with the closed error as the cause) and
// waits for every admitted call to leave. A call that left keeps nothing
// bound to the gate.
func TestGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := g.Enter(ctx, errClosed); !errors.Is(err, context.Canceled) {
			t.Fatalf("Enter with an ended context = %v; want Canceled", err)
		}
		done, leaveDone, err := g.Enter(context.Background(), errClosed)
		if err != nil {
			t.Fatal(err)
		}
		leaveDone()
		if done.Err() == nil {
			t.Fatal("a call's context still live after it left")
		}
		bound, leave, err := g.Enter(context.Background(), errClosed)
		if err != nil {
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
		if bound.Err() == nil || !errors.Is(context.Cause(bound), errClosed) {
			t.Fatalf("the admitted call's context after Close: %v, cause %v; want ended by the closed error", bound.Err(), context.Cause(bound))
		}
		if err := OpError(bound, "pkg", "op", "x", bound.Err()); !errors.Is(err, errClosed) {
			t.Fatalf("OpError of a call Close ended = %v; want it to wrap the closed error", err)
		}
		if _, _, err := g.Enter(context.Background(), errClosed); !errors.Is(err, errClosed) {
			t.Fatalf("Enter after Close = %v; want the closed error", err)
		}
		leave()
		<-closed
		g.Close() // idempotent
	})
}
