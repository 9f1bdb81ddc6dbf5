package api

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/shard"
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
	checkJitter(t, w, "j")
}

// checkJitter checks that key's TTLs, registered as 1 s with a jitter of
// 0.25, stay within [0.75 s, 1.25 s] and spread over that range.
func checkJitter(t *testing.T, w *Warp[string], key string) {
	t.Helper()
	r, _, _ := w.lookup(key)
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := w.ttlFor(r, key)
		if d < 750*time.Millisecond || d > 1250*time.Millisecond {
			t.Fatalf("%s: jittered TTL %v outside [750ms, 1.25s]", key, d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("%s: %d distinct TTLs in 1000; want them spread", key, len(seen))
	}
}

// TestJitterAppliesToDynamicTTLsNotNegativeEntries: WithJitter spreads a
// dynamic TTL as it does a fixed one, and leaves a negative entry's TTL
// exact.
func TestJitterAppliesToDynamicTTLsNotNegativeEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWarp(t, memory.New[string](memory.Options{}))
	second := TTLFunc(func(KeyStats) time.Duration { return time.Second })
	if err := w.RegisterDynamicTTL("d", ModeStrongLocal, second, WithJitter(0.25)); err != nil {
		t.Fatal(err)
	}
	checkJitter(t, w, "d")

	const negTTL = time.Minute
	if err := w.Register("n:*", ModeStrongLocal, time.Minute, WithJitter(0.5), WithNegativeTTL(negTTL)); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		key := fmt.Sprintf("n:%d", i)
		before := w.node.Now()
		if _, err := w.Get(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v; want ErrNotFound", err)
		}
		after := w.node.Now()
		b, ok := w.router.Shard(w.router.Hash(key)).Load(key)
		if !ok {
			t.Fatalf("%s: no negative entry", key)
		}
		hdr, _, err := shard.ParseHeader(b)
		if err != nil || hdr.Flags&shard.FlagNegative == 0 {
			t.Fatalf("%s: entry %+v, %v; want a negative entry", key, hdr, err)
		}
		if at := hdr.Expiry - int64(negTTL); at < before || at > after {
			t.Fatalf("%s: negative entry expires %v after its load; want exactly %v", key, time.Duration(hdr.Expiry-before), negTTL)
		}
	}
}

// TestReregisterSameModeReplaces: registering a pattern again with the
// same mode replaces its TTL and its options, those not given again
// included; a quorum set with SetQuorum stays.
func TestReregisterSameModeReplaces(t *testing.T) {
	t.Parallel()
	w := newWarp(t, memory.New[string](memory.Options{}))
	_ = w.Register("k:*", ModeEventualDistributed, time.Second, WithNegativeTTL(time.Minute), WithJitter(0.5))
	if err := w.Register("k:*", ModeEventualDistributed, time.Hour, WithServeStale(time.Second)); err != nil {
		t.Fatalf("re-register with the same mode: %v", err)
	}
	r, _, _ := w.lookup("k:1")
	if r.ttl != time.Hour || r.negTTL != 0 || r.jitter != 0 || r.serveStale != time.Second {
		t.Fatalf("after re-register: TTL %v, negative TTL %v, jitter %v, serve-stale %v; want 1h, 0, 0, 1s",
			r.ttl, r.negTTL, r.jitter, r.serveStale)
	}
	// A quorum is not a registration option: SetQuorum's floor stays.
	_ = w.Register("s:*", ModeStrongDistributed, time.Second)
	if err := w.SetQuorum("s:*", 2); err != nil {
		t.Fatal(err)
	}
	_ = w.Register("s:*", ModeStrongDistributed, time.Hour)
	if r, _, _ := w.lookup("s:1"); r.quorum != 2 || r.ttl != time.Hour {
		t.Fatalf("strong re-register: quorum %d, TTL %v; want 2 and 1h", r.quorum, r.ttl)
	}
}

func TestFenceTTLMustOutlastLoads(t *testing.T) {
	t.Parallel()
	if _, err := New[string](memory.New[string](memory.Options{}), WithFenceTTL[string](time.Second)); !errors.Is(err, ErrConfig) {
		t.Fatalf("fence TTL 1s: err = %v; want ErrConfig", err)
	}
}

// A fence TTL must also outlast a strong write's bound (2 × StrongTimeout,
// within the clock drift): with StrongTimeout 40 s a write may land up to
// about 80 s after its start, when the default 60 s fences have expired on
// the peers, which could then cache the old value while holding their
// leases. New refuses it; a longer fence TTL is taken.
func TestFenceTTLMustOutlastStrongWrites(t *testing.T) {
	t.Parallel()
	hub := inproc.NewHub()
	busCfg := bus.Config{Cluster: "fence-ttl", Transport: hub.Transport(), StrongTimeout: 40 * time.Second}
	if w, err := New[string](memory.New[string](memory.Options{}), WithBus[string](busCfg)); !errors.Is(err, ErrConfig) {
		if err == nil {
			_ = w.Close()
		}
		t.Fatalf("StrongTimeout 40s, default fence TTL: err = %v; want ErrConfig", err)
	}
	busCfg.Transport = hub.Transport()
	w, err := New[string](memory.New[string](memory.Options{}), WithBus[string](busCfg), WithFenceTTL[string](3*time.Minute))
	if err != nil {
		t.Fatalf("StrongTimeout 40s, fence TTL 3m: %v", err)
	}
	_ = w.Close()
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

// TestCloseClosesPublishErrors: Close closes PublishErrors, so the
// documented reader (a goroutine ranging over it) ends, after the errors
// sent before; a failure reported after Close (a call still in flight) is
// counted and dropped, never sent on the closed channel.
func TestCloseClosesPublishErrors(t *testing.T) {
	t.Parallel()
	w := newWarp(t, memory.New[string](memory.Options{}))
	w.report(errors.New("before Close"))
	read := make(chan []error, 1)
	go func() {
		var got []error
		for err := range w.PublishErrors() {
			got = append(got, err)
		}
		read <- got
	}()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-read:
		if len(got) != 1 || got[0].Error() != "before Close" {
			t.Fatalf("the reader got %v; want the one error sent before Close", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a reader of PublishErrors still waits 10 s after Close")
	}
	dropped := w.droppedErrors.Load()
	w.report(errors.New("after Close")) // must not panic
	if got := w.droppedErrors.Load(); got != dropped+1 {
		t.Fatalf("dropped = %d after a report past Close; want %d", got, dropped+1)
	}
}

// TestOlderEpochEntryNeedsSameStrength: after a registration change, an
// entry cached before it is served only while a registration of the same
// strength still covers its key; one whose key became StrongDistributed is
// reloaded from the store.
func TestOlderEpochEntryNeedsSameStrength(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, spy := spyOnK(t, "v")
	if _, err := w.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	_ = w.Register("other", ModeStrongLocal, time.Minute) // moves the epoch
	if v, err := w.Get(ctx, "k"); err != nil || v != "v" || spy.gets.Load() != 1 {
		t.Fatalf("Get after an unrelated change = %q, %v with %d loads; want v from the cache (1 load)", v, err, spy.gets.Load())
	}
	if err := w.Unregister("k"); err != nil {
		t.Fatal(err)
	}
	if err := w.Register("k", ModeStrongDistributed, time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := w.Get(ctx, "k"); err != nil || v != "v" || spy.gets.Load() != 2 {
		t.Fatalf("Get after k became strong = %q, %v with %d loads; want v reloaded (2 loads)", v, err, spy.gets.Load())
	}
}
