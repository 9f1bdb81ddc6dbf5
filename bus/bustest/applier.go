package bustest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/merge"
)

// Applier is a [github.com/warpcache/warp/bus.Applier] for tests: it
// records what the bus applied and signals after every call, so tests wait
// on events (Wait) instead of sleeping. Read its exported fields inside a
// Wait condition, which holds the lock, or through Version.
type Applier struct {
	mu       sync.Mutex // guards the fields below
	Versions map[string]merge.Version
	Fences   map[string]merge.Version // key → newest fence token held (released ones removed)
	Releases int
	Prefixes []string
	Flushes  int
	Calls    int
	// Fail makes every call fail, to test the bus's repair of a failed
	// apply.
	Fail    atomic.Bool
	changed chan struct{}
}

// NewApplier returns an empty Applier.
func NewApplier() *Applier {
	return &Applier{Versions: map[string]merge.Version{}, Fences: map[string]merge.Version{}, changed: make(chan struct{}, 1)}
}

func (a *Applier) record(fn func()) error {
	if a.Fail.Load() {
		return errors.New("bustest: injected apply failure")
	}
	a.mu.Lock()
	fn()
	a.Calls++
	a.mu.Unlock()
	select {
	case a.changed <- struct{}{}:
	default:
	}
	return nil
}

// Invalidate implements bus.Applier: it keeps the newest version per key.
func (a *Applier) Invalidate(_ context.Context, key string, v merge.Version) error {
	return a.record(func() { a.Versions[key] = max(a.Versions[key], v) })
}

// Fence implements bus.Applier: the key counts as invalidated at token,
// and fenced until Release.
func (a *Applier) Fence(_ context.Context, key string, token merge.Version) error {
	return a.record(func() {
		a.Versions[key] = max(a.Versions[key], token)
		a.Fences[key] = max(a.Fences[key], token)
	})
}

// Release implements bus.Applier.
func (a *Applier) Release(_ context.Context, key string, token merge.Version) error {
	return a.record(func() {
		if a.Fences[key] == token {
			delete(a.Fences, key)
		}
		a.Releases++
	})
}

// InvalidatePrefix implements bus.Applier.
func (a *Applier) InvalidatePrefix(_ context.Context, prefix string) error {
	return a.record(func() { a.Prefixes = append(a.Prefixes, prefix) })
}

// Flush implements bus.Applier.
func (a *Applier) Flush(context.Context) error { return a.record(func() { a.Flushes++ }) }

// FlushCount returns how many flushes were applied.
func (a *Applier) FlushCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.Flushes
}

// Version returns the newest version applied for key.
func (a *Applier) Version(key string) merge.Version {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.Versions[key]
}

// Wait waits, at most 10 s, until cond (run under the lock) holds.
func (a *Applier) Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		a.mu.Lock()
		ok := cond()
		a.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-a.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
