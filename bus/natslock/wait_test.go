package natslock_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/internal/natstest"
)

// Lock calls that give up waiting while their watches' channels are full
// leave no delivery blocked behind them. A KV watcher's delivery callback
// blocks sending to its channel (256 entries) when it is full, and
// ending the watch does not wake it, so a waiter drains the channel after
// ending it (jskv.EndWatch); without the drain the subscription's goroutine
// blocks forever. The wait hook holds every waiter while the holder's refreshes
// fill the channels. Not parallel: it reads the process's goroutines.
func TestGivenUpWaitsLeaveNoBlockedWatch(t *testing.T) {
	srv := natstest.StartJetStream(t, nil)
	holder := newNode(t, srv, natslock.Config{})
	waiter := newNode(t, srv, natslock.Config{})
	ctx := bounded(t, 60*time.Second)
	k, err := holder.l.TryLock(ctx, "c", 0)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}

	const waiters = 8
	arrived, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	natslock.SetWaitHook(waiter.l, func(string) { arrived <- struct{}{}; <-release })
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, waiters)
	for range waiters {
		go func() {
			_, err := waiter.l.Lock(wctx, "c", 0)
			done <- err
		}()
	}
	for range waiters {
		<-arrived
	}
	// The holder refreshes until every waiter's channel is full and its
	// delivery blocked. Not every refresh reaches every watch: a delivery
	// that falls behind skips the entries the next refresh replaced.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		if err := k.Refresh(ctx, 0); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if i < 256 || i%32 != 0 {
			continue
		}
		n, _ := blockedDeliveries()
		if n >= waiters {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d watch deliveries blocked on a full channel after %d refreshes; want %d (has nats.go's watcher changed?)", n, i+1, waiters)
		}
	}

	cancel()
	releaseOnce()
	for range waiters {
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Lock: got %v; want context.Canceled", err)
		}
	}
	if n, stacks := unblocked(10 * time.Second); n != 0 {
		t.Fatalf("%d watch deliveries still blocked on a full channel after every Lock returned; want 0:\n%s", n, stacks)
	}
}

// unblocked polls, for at most bound, until no goroutine is blocked
// delivering to a KV watcher's channel; it returns how many still are, and
// their stacks.
func unblocked(bound time.Duration) (int, []byte) {
	deadline := time.Now().Add(bound)
	for {
		n, stacks := blockedDeliveries()
		if n == 0 || time.Now().After(deadline) {
			return n, stacks
		}
		<-time.After(10 * time.Millisecond)
	}
}

// blockedDeliveries returns the number of goroutines blocked sending to a
// KV watcher's channel in nats.go's delivery callback, and their stacks.
func blockedDeliveries() (int, []byte) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var stacks []byte
	count := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("[chan send")) && bytes.Contains(g, []byte("nats.go/jetstream.(*kvs).WatchFiltered")) {
			count++
			stacks = append(append(stacks, g...), "\n\n"...)
		}
	}
	return count, stacks
}
