package api

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/warpcache/warp/store/memory"
)

func TestJitterBounds(t *testing.T) {
	t.Parallel()
	w := newWarp(t, memory.New[string](memory.Options{}))
	if err := w.Register("j", ModeStrongLocal, time.Second, WithJitter(0.25)); err != nil {
		t.Fatal(err)
	}
	if err := w.Register("x", ModeStrongLocal, time.Second, WithJitter(1)); !errors.Is(err, ErrConfig) {
		t.Fatalf("jitter 1: err = %v; want ErrConfig", err)
	}
	r, _, _ := w.lookup("j")
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := w.ttlFor(r, "j")
		if d < 750*time.Millisecond || d > 1250*time.Millisecond {
			t.Fatalf("jittered TTL %v outside [750ms, 1.25s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("%d distinct TTLs in 1000; want them spread", len(seen))
	}
}

func TestReregisterSameModeReplaces(t *testing.T) {
	t.Parallel()
	w := newWarp(t, memory.New[string](memory.Options{}))
	_ = w.Register("k:*", ModeEventualDistributed, time.Second)
	if err := w.Register("k:*", ModeEventualDistributed, time.Hour); err != nil {
		t.Fatalf("re-register with the same mode: %v", err)
	}
	if r, _, _ := w.lookup("k:1"); r.ttl != time.Hour {
		t.Fatalf("TTL after re-register = %v; want 1h", r.ttl)
	}
}

func TestFenceTTLMustOutlastLoads(t *testing.T) {
	t.Parallel()
	if _, err := New[string](memory.New[string](memory.Options{}), WithFenceTTL[string](time.Second)); !errors.Is(err, ErrConfig) {
		t.Fatalf("fence TTL 1s: err = %v; want ErrConfig", err)
	}
}

// TestPublishErrorsNeverBlock: asynchronous errors nobody reads are
// counted and dropped; reporting never blocks.
func TestPublishErrorsNeverBlock(t *testing.T) {
	t.Parallel()
	w := newWarp(t, memory.New[string](memory.Options{}))
	n := cap(w.errs) + 10
	done := make(chan struct{})
	go func() {
		for i := range n {
			w.report(fmt.Errorf("failure %d", i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("report blocked with nobody reading PublishErrors")
	}
	if got := w.droppedErrors.Load(); got != 10 {
		t.Fatalf("dropped = %d; want 10", got)
	}
	if err := <-w.PublishErrors(); err == nil || err.Error() != "failure 0" {
		t.Fatalf("first error = %v; want failure 0", err)
	}
}
