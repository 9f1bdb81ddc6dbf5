package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warpcache/warp/store"
)

// Preloading: a store that commits several writes at once (every adapter
// of this repository) gets batches of preloadBatch keys from
// preloadWriters writers, so a remote store takes a round trip per batch
// rather than per key.
const (
	preloadBatch   = 500
	preloadWriters = 4
	// preloadTimeout bounds a mode's preload.
	preloadTimeout = 2 * time.Minute
)

// preload writes every key (and the probe key, at sequence 0) straight to
// the store; done counts the keys written so far, for the progress line.
//
// A cancelled stop ends the preload between two batches: the writes
// themselves run under a context of their own, so that none is still in
// flight on the server (to land after the clean-up) when preload returns.
func preload(stop context.Context, s store.Store[[]byte], keys []string, probeKey string, size int, done *atomic.Int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), preloadTimeout)
	defer cancel()
	val := make([]byte, size) // never modified: every key may share it
	if _, err := s.Set(ctx, probeKey, make([]byte, size), store.Write{}); err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	write := func(batch []string) error {
		for _, k := range batch {
			if _, err := s.Set(ctx, k, val, store.Write{}); err != nil {
				return err
			}
		}
		return nil
	}
	if c, ok := s.(store.Committer[[]byte]); ok {
		write = func(batch []string) error {
			ops := make([]store.Op[[]byte], len(batch))
			for i, k := range batch {
				ops[i] = store.Op[[]byte]{Kind: store.OpSet, Key: k, Value: val}
			}
			_, err := c.Commit(ctx, ops)
			return err
		}
	}
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range preloadWriters {
		wg.Go(func() {
			for {
				lo := int(next.Add(preloadBatch)) - preloadBatch
				if lo >= len(keys) || stop.Err() != nil || ctx.Err() != nil {
					return
				}
				batch := keys[lo:min(lo+preloadBatch, len(keys))]
				if err := write(batch); err != nil {
					once.Do(func() { first = err })
					cancel() // the other writers stop too
					return
				}
				done.Add(int64(len(batch)))
			}
		})
	}
	wg.Wait()
	switch {
	case first != nil:
		return fmt.Errorf("preload: %w", first)
	case stop.Err() != nil:
		return errInterrupted
	}
	return nil
}
