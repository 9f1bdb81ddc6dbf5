package natslease_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/internal/chaos/proxy"
	"github.com/warpcache/warp/internal/natstest"
)

// A node cut off from the server for longer than the markers live misses
// the marker of a lease revoked meanwhile (the server removed it before the
// node's watcher came back). The watcher's probes show the gap, and it
// flushes (Flush with no lease id) instead of keeping the lease's keys.
func TestCutLongerThanMarkersFlushes(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	p, js := natstest.Proxied(t, srv) // a's connection
	cfg := natslease.Config{Bucket: "cut", MarkerTTL: time.Second}
	b := newNode(t, srv, cfg)
	revokes, flushes := make(chan string, 16), make(chan string, 16)
	acfg := cfg
	acfg.Flush = func(id string) { flushes <- id }
	ctx := bounded(t, 30*time.Second)
	a, err := natslease.New(ctx, js, acfg, func(id string, _ []string) { revokes <- id })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })

	lease, err := b.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.l.Attach(ctx, lease.ID, "k"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "a sees the attachment", func() bool { return a.Keys(lease.ID) != nil })
	if err := p.Cut(proxy.Both, true); err != nil {
		t.Fatal(err)
	}
	if err := b.l.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	// The server removes the revocation's marker after 1 s; the cut lasts
	// until it is gone.
	natstest.AwaitGone(t, ctx, b.js, "KV_cut", "$KV.cut.lease."+lease.ID)
	p.Heal()
	select {
	case id := <-revokes:
		if id != lease.ID {
			t.Fatalf("revocation of %s; want %s or a flush", id, lease.ID)
		}
		t.Log("the watcher got the revocation")
	case id := <-flushes:
		checkFlushAll(t, id, "after the cut")
	case <-time.After(15 * time.Second):
		t.Fatalf("no revocation of %s and no flush after a cut of 4 s (markers live 1 s)", lease.ID)
	}
	// The watcher replays the bucket after the gap: the lease whose end it
	// missed leaves its table.
	waitUntil(t, ctx, "the missed lease leaves the table", func() bool { return a.Keys(lease.ID) == nil })
}

// A cut the client does not notice (its pings come minutes apart) stops
// the watcher's probes from coming back: the watcher flushes once the
// silence passes half the markers' life by a probe period, while still
// cut off, then again for every half of the markers' life the silence goes
// on (not at every probe); the proof that ends it, after the heal, flushes
// again for the gap. (The watcher that proved its connection with PINGs
// flushed only after the heal.)
func TestSilentCutFlushes(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	p, js := natstest.Proxied(t, srv)
	flushes := make(chan string, 1024)
	cfg := natslease.Config{Bucket: "silent", MarkerTTL: time.Second, Flush: func(id string) { flushes <- id }}
	ctx := bounded(t, 30*time.Second)
	a, err := natslease.New(ctx, js, cfg, func(string, []string) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := p.Cut(proxy.Both, false); err != nil { // silent: the client notices nothing
		t.Fatal(err)
	}
	cut := time.Now()
	expectFlushAll(t, bounded(t, 5*time.Second), flushes, "during a silent cut")
	t.Logf("flushed %v into the cut (markers live 1 s)", time.Since(cut).Round(time.Millisecond))
	// 3 s more of the cut: a flush for every 500 ms of silence or so (the
	// probes, every 125 ms, are not each a flush), and not only the first.
	if n := flushesIn(t, flushes, 3*time.Second, "during the cut"); n < 2 || n > 7 {
		t.Fatalf("%d more flushes in 3 s of silence; want one for every half of the markers' life (about 5)", n)
	}
	p.Heal()
	expectFlushAll(t, ctx, flushes, "when the first probe after the heal shows the gap")
}

// While no watch runs (the connection closed here, for good; a consumer
// the server does not create, for want of a JetStream leader, does the
// same), no probe can come back: the watcher flushes when the watch
// stops, then again for every half of the markers' life until a watch
// runs, since the node keeps caching meanwhile. (It used to flush only
// when the watch stopped and when a new one had replayed.)
func TestNoWatchKeepsFlushing(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	flushes := make(chan string, 1024)
	var log natstest.LogBuffer
	cfg := natslease.Config{Bucket: "nowatch", MarkerTTL: time.Second, Flush: func(id string) { flushes <- id },
		Logger: slog.New(slog.NewTextHandler(&log, nil))}
	a := newNode(t, srv, cfg)
	ctx := bounded(t, 30*time.Second)
	a.nc.Close()
	expectFlushAll(t, ctx, flushes, "when the watch stops with the connection")
	if n := flushesIn(t, flushes, 3*time.Second, "while no watch runs"); n < 2 || n > 7 {
		t.Fatalf("%d flushes in the 3 s after the watch stopped; want one for every half of the markers' life (about 5)", n)
	}
	// The probes' writes fail all along: logged once, not once a probe.
	if n := strings.Count(log.String(), "a probe's write failed"); n != 1 {
		t.Fatalf("the failed probe writes logged %d times; want once", n)
	}
}

// A replay that takes half the markers' life or more (a large bucket, a
// slow link) delays the probes written meanwhile by as much, since they
// come after it: the gaps count from the replay's end, which flushes for
// what it may have missed, so the watcher does not take that delay for a
// cut and replay again, and again, as the first watcher of the bucket's
// probes did (each replay as slow as the one before).
func TestSlowReplayDoesNotLoop(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	cfg := natslease.Config{Bucket: "slowreplay", MarkerTTL: time.Second}
	b := newNode(t, srv, cfg)
	ctx := bounded(t, 30*time.Second)
	if _, err := b.l.Grant(ctx, time.Minute); err != nil { // an entry to replay
		t.Fatal(err)
	}
	flushes := make(chan string, 1024)
	var replays atomic.Int32
	acfg := cfg
	acfg.Flush = func(id string) { flushes <- id }
	natslease.SetReplayHook(&acfg, func() {
		replays.Add(1)
		time.Sleep(800 * time.Millisecond) // more than MarkerTTL/2
	})
	newNode(t, srv, acfg)
	time.Sleep(3 * time.Second)
	if n, r := len(flushes), replays.Load(); n != 0 || r != 1 {
		t.Fatalf("%d flushes and %d replays in 3 s after a replay of 0.8 s; want none and one", n, r)
	}
}

// waitUntil polls cond every 10 ms until it holds, failing the test if ctx
// ends first.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("not before the test's deadline: %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// flushesIn waits d and returns how many calls of Flush came on flushes
// meanwhile (and before), checking that each is Flush("").
func flushesIn(t *testing.T, flushes <-chan string, d time.Duration, when string) int {
	t.Helper()
	time.Sleep(d)
	n := len(flushes)
	for range n {
		checkFlushAll(t, <-flushes, when)
	}
	return n
}

// checkFlushAll checks that id, passed to Flush when, is empty: the flush
// of a watcher that may have missed lease ends.
func checkFlushAll(t *testing.T, id, when string) {
	t.Helper()
	if id != "" {
		t.Fatalf("Flush(%q) %s; want Flush(\"\")", id, when)
	}
}

// expectFlushAll waits, bounded by ctx, for the next call of Flush on
// flushes, and checks it is Flush("").
func expectFlushAll(t *testing.T, ctx context.Context, flushes <-chan string, when string) {
	t.Helper()
	select {
	case id := <-flushes:
		checkFlushAll(t, id, when)
	case <-ctx.Done():
		t.Fatalf("no flush %s", when)
	}
}

// probeClock is a clock for the watcher's probes that moves only when the
// test says, and counts its reads (one per probe, after the first).
type probeClock struct {
	mu    sync.Mutex
	t     time.Time
	reads int
	read  chan struct{} // signalled at every read
}

func (c *probeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	select {
	case c.read <- struct{}{}:
	default:
	}
	return c.t
}

func (c *probeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A paused watcher (its clock jumps between two proofs of its connection)
// flushes once the gap between proofs reaches half the markers' life, and
// not before: two gaps just under it change nothing, one at it flushes,
// then replays the bucket and flushes once more.
func TestPausedWatcherFlushes(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	clk := &probeClock{t: time.Unix(1e9, 0), read: make(chan struct{}, 1)}
	flushes := make(chan string, 16)
	cfg := natslease.Config{Bucket: "pause", MarkerTTL: time.Second, Flush: func(id string) { flushes <- id }}
	natslease.SetProbeClock(&cfg, clk.now)
	newNode(t, srv, cfg)
	ctx := bounded(t, 30*time.Second)
	probes := func(n int) { // waits for n more probes
		for range n {
			select {
			case <-clk.read:
			case <-ctx.Done():
				t.Fatal("the watcher stopped probing")
			}
		}
	}
	probes(2)
	for range 2 {
		clk.advance(490 * time.Millisecond)
		probes(3)
	}
	clk.advance(500 * time.Millisecond)
	probes(3)
	// The gap flushes, and the watcher replays the bucket into a new
	// table, flushing again at the replay's end.
	expectFlushAll(t, ctx, flushes, "after a pause of half the markers' life")
	expectFlushAll(t, ctx, flushes, "at the end of the replay that follows")
	probes(3)
	if n := len(flushes); n != 0 {
		t.Fatalf("%d more flushes; want two in all (none for the gaps under half the markers' life)", n)
	}
}

// A watch the client ends (here the bucket's stream is deleted under it)
// no longer delivers lease ends: the watcher flushes, opens a new watch
// once it can (here once another node created the bucket again), flushes
// again at the end of its replay (ends written meanwhile are not
// replayed), and then sees revocations again.
func TestLostWatchFlushesAndWatchesAgain(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	flushes := make(chan string, 16)
	// Markers of 8 s: a new watch is tried every second.
	cfg := natslease.Config{Bucket: "lostwatch", MarkerTTL: 8 * time.Second, Flush: func(id string) { flushes <- id }}
	a := newNode(t, srv, cfg)
	ctx := bounded(t, 30*time.Second)
	if err := a.js.DeleteKeyValue(ctx, "lostwatch"); err != nil {
		t.Fatal(err)
	}
	expectFlushAll(t, ctx, flushes, "when the watch is lost with the bucket")
	b := newNode(t, srv, natslease.Config{Bucket: "lostwatch", MarkerTTL: 8 * time.Second}) // creates the bucket again
	expectFlushAll(t, ctx, flushes, "when watching again")
	lease, err := b.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.l.Attach(ctx, lease.ID, "k"); err != nil {
		t.Fatal(err)
	}
	if err := b.l.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	a.expectRevoke(t, "after the new watch", lease.ID, []string{"k"})
}

// Close while the watcher's connection is cut off does not wait for the
// server: the watch ends with its context, which the client stops at once,
// instead of a Stop whose deletion of the consumer waits for an answer
// (JetStream's request timeout, 5 s).
func TestCloseWhileCutOff(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	p, js := natstest.Proxied(t, srv)
	ctx := bounded(t, 30*time.Second)
	a, err := natslease.New(ctx, js, natslease.Config{Bucket: "cutclose"}, func(string, []string) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cut(proxy.Both, false); err != nil { // silent: the client notices nothing
		t.Fatal(err)
	}
	defer p.Heal()
	start := time.Now()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// The old Close took the full 5 s; a margin of 3 s is far from both.
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close while cut off took %v: it waited for the server", took)
	}
}
