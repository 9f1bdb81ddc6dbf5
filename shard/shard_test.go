package shard

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/internal/mailbox"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
)

// harness runs one shard actor on the inline dispatcher.
type harness struct {
	t   *testing.T
	v   *View
	sys *actor.ActorSystem
	now int64
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, func(*Config) {}) }

// newHarnessWith is newHarness with the shard's Config changed by edit.
func newHarnessWith(t *testing.T, edit func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, now: 1}
	cfg := Config{Seed: maphash.MakeSeed(), MaxBytes: 8 << 20, Now: func() int64 { return h.now },
		NewHot: DecodeHot(func(b []byte) (any, error) { return string(b), nil })}
	edit(&cfg)
	v, err := NewView(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.v = v
	h.sys = actor.NewActorSystemWithConfig(actor.Configure(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) })))
	h.sys.Root.Spawn(Props(v, actor.NewSynchronizedDispatcher(100), mailbox.New()))
	t.Cleanup(func() {
		_ = h.sys.Root.PoisonFuture(v.PID()).Wait()
		h.sys.Shutdown()
		_ = v.Close()
	})
	return h
}

func (h *harness) ask(msg messages.Request) messages.Result {
	h.sys.Root.Send(h.v.PID(), msg)
	return msg.ReplySlot().Wait()
}

func entry(v merge.Version, val string) []byte {
	return append(AppendHeader(nil, Header{Version: v, Expiry: 1 << 62}), val...)
}

// get returns the cached value of key, "" if none.
func (h *harness) get(key string) (string, merge.Version) {
	b, ok := h.v.Load(key)
	if !ok {
		return "", 0
	}
	hdr, val, err := ParseHeader(b)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(val), hdr.Version
}

func TestInstallNeverGoesBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gen := h.v.Gen(h.v.Hash("k"))
	if r := h.ask(&messages.Install{Key: "k", Entry: entry(5, "v5"), Gen: gen, Reply: messages.NewReply()}); !r.Applied {
		t.Fatalf("first install not applied: %+v", r)
	}
	gen = h.v.Gen(h.v.Hash("k"))
	if r := h.ask(&messages.Install{Key: "k", Entry: entry(3, "v3"), Gen: gen, Reply: messages.NewReply()}); r.Applied || r.Version != 5 {
		t.Fatalf("older install: %+v; want not applied, version 5", r)
	}
	if v, ver := h.get("k"); v != "v5" || ver != 5 {
		t.Fatalf("cached %q@%d; want v5@5", v, ver)
	}
}

func TestFillAfterWriteIsDropped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gen := h.v.Gen(h.v.Hash("k")) // a loader starts
	h.ask(&messages.Install{Key: "k", Entry: entry(9, "new"), Gen: gen, Reply: messages.NewReply()})
	if r := h.ask(&messages.Fill{Key: "k", Entry: entry(8, "old"), Gen: gen, Reply: messages.NewReply()}); r.Applied {
		t.Fatal("a fill that raced a write was installed")
	}
	if v, _ := h.get("k"); v != "new" {
		t.Fatalf("cached %q; want new", v)
	}
	if h.v.Stats().StaleFills.Load() != 1 {
		t.Fatalf("StaleFills = %d; want 1", h.v.Stats().StaleFills.Load())
	}
}

// TestWriteRacingInvalidation: an invalidation (maybe of a newer remote
// write) lands between a writer's generation read and its install: the
// writer must drop the key instead of installing.
func TestWriteRacingInvalidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gen := h.v.Gen(h.v.Hash("k"))
	h.ask(&messages.Invalidate{Key: "k", Version: 20, Reply: messages.NewReply()})
	if r := h.ask(&messages.Install{Key: "k", Entry: entry(10, "mine"), Gen: gen, Reply: messages.NewReply()}); r.Applied {
		t.Fatalf("install after a racing invalidation: %+v; want dropped", r)
	}
	if v, _ := h.get("k"); v != "" {
		t.Fatalf("cached %q; want nothing", v)
	}
}

func TestInvalidateKeepsNewer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.ask(&messages.Install{Key: "k", Entry: entry(7, "v7"), Gen: h.v.Gen(h.v.Hash("k")), Reply: messages.NewReply()})
	if r := h.ask(&messages.Invalidate{Key: "k", Version: 6, Reply: messages.NewReply()}); r.Applied {
		t.Fatal("a late, older invalidation dropped a newer value")
	}
	if r := h.ask(&messages.Invalidate{Key: "k", Version: 8, Reply: messages.NewReply()}); !r.Applied {
		t.Fatal("a newer invalidation was ignored")
	}
	if v, _ := h.get("k"); v != "" {
		t.Fatalf("cached %q after invalidation; want nothing", v)
	}
}

func TestFenceBlocksCachingUntilReleased(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.ask(&messages.Install{Key: "k", Entry: entry(1, "old"), Gen: h.v.Gen(h.v.Hash("k")), Reply: messages.NewReply()})
	h.ask(&messages.Fence{Key: "k", Token: 100, Until: 1000, Reply: messages.NewReply()})
	if v, _ := h.get("k"); v != "" {
		t.Fatal("a fence left the old copy cached")
	}
	gen := h.v.Gen(h.v.Hash("k"))
	if r := h.ask(&messages.Fill{Key: "k", Entry: entry(101, "new"), Gen: gen, Reply: messages.NewReply()}); r.Applied {
		t.Fatal("a fill was installed under a fence")
	}
	h.ask(&messages.Fence{Key: "k", Token: 100, Release: true, Reply: messages.NewReply()})
	if r := h.ask(&messages.Fill{Key: "k", Entry: entry(101, "new"), Gen: gen, Reply: messages.NewReply()}); r.Applied {
		t.Fatal("a fill that began under the fence was installed after the release")
	}
	gen = h.v.Gen(h.v.Hash("k"))
	if r := h.ask(&messages.Fill{Key: "k", Entry: entry(101, "new"), Gen: gen, Reply: messages.NewReply()}); !r.Applied {
		t.Fatal("a fill after the release was refused")
	}
	// An expired token no longer fences.
	h.ask(&messages.Fence{Key: "j", Token: 5, Until: 10, Reply: messages.NewReply()})
	h.now = 11
	if r := h.ask(&messages.Fill{Key: "j", Entry: entry(6, "x"), Gen: h.v.Gen(h.v.Hash("j")), Reply: messages.NewReply()}); !r.Applied {
		t.Fatal("an expired fence still refused a fill")
	}
}

// Fences beyond MaxFences keys (or MaxFenceTokens tokens on one key) are
// not recorded, so the fence table stays bounded whatever peers send; the
// shard then caches nothing, no key at all, until the unrecorded fence
// would have expired.
func TestFenceBound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fence func(h *harness, i int) *messages.Fence
	}{
		{"keys", func(h *harness, i int) *messages.Fence {
			return &messages.Fence{Key: fmt.Sprintf("k%d", i), Token: 7, Until: 1000, Reply: messages.NewReply()}
		}},
		{"tokens on one key", func(h *harness, i int) *messages.Fence {
			return &messages.Fence{Key: "k", Token: merge.Version(i + 1), Until: 1000, Reply: messages.NewReply()}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWith(t, func(c *Config) { c.MaxFences, c.MaxFenceTokens = 8, 8 })
			for i := range 20 {
				h.ask(tc.fence(h, i))
			}
			if n := len(h.v.fences); n > 8 || len(h.v.fences["k"]) > 8 {
				t.Fatalf("%d fenced keys, %d tokens on k; want at most 8 of each", n, len(h.v.fences["k"]))
			}
			if n := h.v.stats.FenceOverflows.Load(); n != 12 {
				t.Fatalf("%d overflows; want 12", n)
			}
			fill := func(key string) bool {
				return h.ask(&messages.Fill{Key: key, Entry: entry(1, "x"), Gen: h.v.Gen(h.v.Hash(key)), Reply: messages.NewReply()}).Applied
			}
			if fill("unrelated") {
				t.Fatal("a fill was cached while an unrecorded fence may hold")
			}
			h.now = 1000
			if !fill("unrelated") {
				t.Fatal("no fill cached after the unrecorded fences expired")
			}
			if h.v.fenceAll != 0 {
				t.Fatalf("fenceAll = %d after it passed; want 0, so that writes skip the clock again", h.v.fenceAll)
			}
		})
	}
}

// TestSweepForgetsPassedFences checks the sweep's half of the fence
// bookkeeping: once their time has passed, the sweep forgets recorded
// tokens and the unrecorded-fence horizon (fenceAll) without any write
// or fill touching the shard, and keeps those whose time has not.
func TestSweepForgetsPassedFences(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) { c.MaxFences = 2 })
	for i, until := range []int64{500, 1000, 2000} { // the third is beyond the bound
		h.ask(&messages.Fence{Key: fmt.Sprintf("k%d", i), Token: 7, Until: until, Reply: messages.NewReply()})
	}
	if h.v.fenceAll != 2000 || len(h.v.fences) != 2 {
		t.Fatalf("fenceAll = %d, %d recorded keys; want 2000 and 2", h.v.fenceAll, len(h.v.fences))
	}
	sweep := func(now int64) {
		h.sys.Root.Send(h.v.PID(), &messages.Sweep{Now: now, Budget: 16})
		h.ask(&messages.Invalidate{Key: "sync", Reply: messages.NewReply()}) // the mailbox is FIFO
	}
	sweep(999)
	if h.v.fenceAll != 2000 || len(h.v.fences) != 1 || h.v.fenced.Load() != 1 {
		t.Fatalf("at 999: fenceAll = %d, %d recorded keys (gauge %d); want 2000 and only k1 left",
			h.v.fenceAll, len(h.v.fences), h.v.fenced.Load())
	}
	sweep(2000)
	if h.v.fenceAll != 0 || len(h.v.fences) != 0 || h.v.fenced.Load() != 0 {
		t.Fatalf("at 2000: fenceAll = %d, %d recorded keys (gauge %d); want every fence forgotten",
			h.v.fenceAll, len(h.v.fences), h.v.fenced.Load())
	}
}

func TestTxnCommitInstallsAndReleases(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.ask(&messages.TxnFence{Keys: []string{"a", "b"}, Token: 50, Until: 1000, Reply: messages.NewReply()})
	gens := []uint64{h.v.Gen(h.v.Hash("a")), h.v.Gen(h.v.Hash("b"))}
	h.ask(&messages.TxnCommit{Keys: []string{"a", "b"}, Entries: [][]byte{entry(51, "A"), nil}, Gens: gens, Token: 50, Reply: messages.NewReply()})
	if v, _ := h.get("a"); v != "A" {
		t.Fatalf("a = %q; want A installed at commit", v)
	}
	if r := h.ask(&messages.Fill{Key: "b", Entry: entry(51, "B"), Gen: h.v.Gen(h.v.Hash("b")), Reply: messages.NewReply()}); !r.Applied {
		t.Fatal("b still fenced after the commit")
	}
}

// TestTxnCommitSkipsKeyWrittenDuringFence: a write refused under a
// transaction's fence, or an invalidation applied during it, may be newer
// than the transaction's commit, so the commit leaves the key uncached
// rather than install its own entry over it; the key is unfenced after.
func TestTxnCommitSkipsKeyWrittenDuringFence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		during func(h *harness)
	}{
		{"refused install", func(h *harness) {
			gen := h.v.Gen(h.v.Hash("k"))
			if r := h.ask(&messages.Install{Key: "k", Entry: entry(60, "later"), Gen: gen, Reply: messages.NewReply()}); r.Applied {
				t.Error("install under a fence applied")
			}
		}},
		{"invalidation", func(h *harness) {
			h.ask(&messages.Invalidate{Key: "k", Version: 60, Reply: messages.NewReply()})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.ask(&messages.TxnFence{Keys: []string{"k"}, Token: 50, Until: 1000, Reply: messages.NewReply()})
			gens := []uint64{h.v.Gen(h.v.Hash("k"))}
			tc.during(h)
			h.ask(&messages.TxnCommit{Keys: []string{"k"}, Entries: [][]byte{entry(51, "txn")}, Gens: gens, Token: 50, Reply: messages.NewReply()})
			if v, ver := h.get("k"); v != "" {
				t.Fatalf("k = %q at version %d after the commit; want no copy (a newer write came during the fence)", v, ver)
			}
			if r := h.ask(&messages.Fill{Key: "k", Entry: entry(60, "later"), Gen: h.v.Gen(h.v.Hash("k")), Reply: messages.NewReply()}); !r.Applied {
				t.Fatal("k still fenced after the commit")
			}
		})
	}
}

// TestRefusedInstallMovesStripe: a write whose install a fence refused
// still moves its stripe, so a load that read the store before the write
// neither lands nor is joined by a later reader.
func TestRefusedInstallMovesStripe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	hk := h.v.Hash("k")
	h.ask(&messages.Fence{Key: "k", Token: 50, Until: 1000, Reply: messages.NewReply()})
	gen := h.v.Gen(hk)
	if r := h.ask(&messages.Install{Key: "k", Entry: entry(60, "v"), Gen: gen, Reply: messages.NewReply()}); r.Applied {
		t.Fatal("install under a fence applied")
	}
	if got := h.v.Gen(hk); got == gen {
		t.Fatalf("stripe generation %d after a refused install; want it moved", got)
	}
}

func TestFlushKeeping(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, k := range []string{"keep", "drop"} {
		h.ask(&messages.Install{Key: k, Entry: entry(1, k), Gen: h.v.Gen(h.v.Hash(k)), Reply: messages.NewReply()})
	}
	h.ask(&messages.Flush{Keep: func(k string) (int64, bool) { return 500, k == "keep" }, Reply: messages.NewReply()})
	if v, _ := h.get("drop"); v != "" {
		t.Fatal("flush kept a key it should drop")
	}
	b, ok := h.v.Load("keep")
	if !ok {
		t.Fatal("flush dropped a key it should keep")
	}
	if hdr, _, _ := ParseHeader(b); hdr.Expiry != 500 {
		t.Fatalf("kept entry expires at %d; want capped at 500", hdr.Expiry)
	}
}

// TestFlushDropsEverything: a flush drops every entry and every hot slot,
// whether it deletes a few entries one by one or resets the cache, and
// moves every stripe's generation.
func TestFlushDropsEverything(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, flushOneByOne, flushOneByOne + 1, 4 * flushOneByOne} {
		h := newHarness(t)
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("k%d", i)
			h.ask(&messages.Install{Key: keys[i], Entry: entry(1, "v"), Gen: h.v.Gen(h.v.Hash(keys[i])), Reply: messages.NewReply()})
		}
		h.sys.Root.Send(h.v.PID(), &messages.Promote{Key: keys[0]})
		hash := h.v.Hash(keys[0])
		gen := h.v.Gen(hash)
		// The mailbox is FIFO: an answered request means the promote ran.
		h.ask(&messages.Invalidate{Key: "absent", Reply: messages.NewReply()})
		if h.v.Hot(keys[0], hash) == nil {
			t.Fatalf("n=%d: promote did not fill the hot slot", n)
		}
		h.ask(&messages.Flush{Reply: messages.NewReply()})
		if l := h.v.cache.Len(); l != 0 {
			t.Errorf("n=%d: %d entries left after a flush", n, l)
		}
		for _, k := range keys {
			if v, _ := h.get(k); v != "" {
				t.Fatalf("n=%d: %s still cached after a flush", n, k)
			}
		}
		if h.v.Hot(keys[0], hash) != nil {
			t.Errorf("n=%d: hot slot kept after a flush", n)
		}
		if h.v.Gen(hash) == gen {
			t.Errorf("n=%d: stripe generation unchanged by a flush", n)
		}
	}
}

// TestWriteClearsHotSlot: a write or an invalidation of a promoted key
// empties its hot slot, so readers cannot be served the old decoded value;
// a write of another key leaves the slot alone.
func TestWriteClearsHotSlot(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	promote := func(k string) {
		h.sys.Root.Send(h.v.PID(), &messages.Promote{Key: k})
		h.ask(&messages.Invalidate{Key: "absent", Reply: messages.NewReply()}) // FIFO: the promote ran
		if e := h.v.Hot(k, h.v.Hash(k)); e == nil || e.Key != k {
			t.Fatalf("promote %s: slot holds %+v", k, e)
		}
	}
	for i, k := range []string{"a", "b"} {
		h.ask(&messages.Install{Key: k, Entry: entry(merge.Version(i+1), k), Gen: h.v.Gen(h.v.Hash(k)), Reply: messages.NewReply()})
	}
	promote("a")
	h.ask(&messages.Install{Key: "b", Entry: entry(5, "b2"), Gen: h.v.Gen(h.v.Hash("b")), Reply: messages.NewReply()})
	if e := h.v.Hot("a", h.v.Hash("a")); e == nil || e.Key != "a" {
		t.Fatal("a write of b emptied a's hot slot")
	}
	h.ask(&messages.Install{Key: "a", Entry: entry(6, "a2"), Gen: h.v.Gen(h.v.Hash("a")), Reply: messages.NewReply()})
	if e := h.v.Hot("a", h.v.Hash("a")); e != nil && e.Key == "a" {
		t.Fatalf("hot slot still holds a at version %d after a write", e.Version)
	}
	promote("a")
	h.ask(&messages.Invalidate{Key: "a", Reply: messages.NewReply()})
	if e := h.v.Hot("a", h.v.Hash("a")); e != nil && e.Key == "a" {
		t.Fatal("hot slot still holds a after an invalidation")
	}
}

// TestHotSetWays: keys that share a hot-tier set all stay in it, up to
// its ways; one more replaces the set's next victim (round robin); a
// write clears only its own key's way; HotFull follows.
func TestHotSetWays(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) { c.HotSlots = hotWays }) // one set
	keys := []string{"a", "b", "c", "d", "e"}
	for i, k := range keys {
		h.ask(&messages.Install{Key: k, Entry: entry(merge.Version(i+1), k), Gen: h.v.Gen(h.v.Hash(k)), Reply: messages.NewReply()})
	}
	promote := func(k string) {
		h.sys.Root.Send(h.v.PID(), &messages.Promote{Key: k})
		h.ask(&messages.Invalidate{Key: "absent", Reply: messages.NewReply()}) // FIFO: the promote ran
	}
	hot := func(k string) bool {
		e := h.v.Hot(k, h.v.Hash(k))
		if e != nil && (e.Key != k || e.Value != any(k)) {
			t.Fatalf("Hot(%s) returned the entry of %s (%v)", k, e.Key, e.Value)
		}
		return e != nil
	}
	for i, k := range keys[:hotWays] {
		if h.v.HotFull(h.v.Hash(k)) {
			t.Fatalf("set full with %d keys in it", i)
		}
		promote(k)
	}
	for _, k := range keys[:hotWays] {
		if !hot(k) {
			t.Fatalf("%s not in the hot tier with %d keys in its set of %d ways", k, hotWays, hotWays)
		}
	}
	if !h.v.HotFull(h.v.Hash("e")) {
		t.Fatal("set not full with 4 keys in it")
	}
	promote("e") // replaces way 0, a's
	if !hot("e") || hot("a") {
		t.Fatalf("after a fifth promote: e hot %v, a hot %v; want e in, a (way 0) out", hot("e"), hot("a"))
	}
	for _, k := range []string{"b", "c", "d"} {
		if !hot(k) {
			t.Fatalf("%s left the hot tier when e took a's way", k)
		}
	}
	h.ask(&messages.Install{Key: "c", Entry: entry(9, "c2"), Gen: h.v.Gen(h.v.Hash("c")), Reply: messages.NewReply()})
	if hot("c") {
		t.Fatal("c still hot after a write of c")
	}
	for _, k := range []string{"b", "d", "e"} {
		if !hot(k) {
			t.Fatalf("a write of c cleared %s", k)
		}
	}
	if h.v.HotFull(h.v.Hash("c")) {
		t.Fatal("set full after a write emptied c's way")
	}
	promote("a") // takes the empty way, not the next victim
	for _, k := range []string{"a", "b", "d", "e"} {
		if !hot(k) {
			t.Fatalf("%s not hot after a took the empty way", k)
		}
	}
}

// TestNegativeEntriesAreNotPromoted: a cached "not found" stays out of the
// hot tier, which holds decoded values only.
func TestNegativeEntriesAreNotPromoted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	neg := AppendHeader(nil, Header{Version: 1, Expiry: 1 << 62, Flags: FlagNegative})
	h.ask(&messages.Install{Key: "gone", Entry: neg, Gen: h.v.Gen(h.v.Hash("gone")), Reply: messages.NewReply()})
	h.sys.Root.Send(h.v.PID(), &messages.Promote{Key: "gone"})
	h.ask(&messages.Invalidate{Key: "absent", Reply: messages.NewReply()}) // FIFO: the promote ran
	if e := h.v.Hot("gone", h.v.Hash("gone")); e != nil {
		t.Fatalf("negative entry promoted: %+v", e)
	}
}

// TestHotSetReadersSeeNoOldValue: readers of a key whose set other keys
// keep churning never get another key's entry, and once a write of the key
// returned, never a version older than it.
func TestHotSetReadersSeeNoOldValue(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) { c.HotSlots = hotWays })
	others := []string{"o1", "o2", "o3", "o4", "o5", "o6"}
	for _, k := range append([]string{"a"}, others...) {
		h.ask(&messages.Install{Key: k, Entry: entry(1, k), Gen: h.v.Gen(h.v.Hash(k)), Reply: messages.NewReply()})
	}
	var written atomic.Uint64 // the newest version of a whose write returned
	written.Store(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // churn the set
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h.sys.Root.Send(h.v.PID(), &messages.Promote{Key: others[i%len(others)]})
			h.sys.Root.Send(h.v.PID(), &messages.Promote{Key: "a"})
			h.ask(&messages.Invalidate{Key: "absent", Reply: messages.NewReply()})
		}
	}()
	bad := make(chan string, 1)
	go func() {
		defer wg.Done()
		ha := h.v.Hash("a")
		for {
			select {
			case <-stop:
				return
			default:
			}
			floor := written.Load()
			if e := h.v.Hot("a", ha); e != nil {
				if e.Key != "a" {
					bad <- "entry of " + e.Key
					return
				}
				if uint64(e.Version) < floor {
					bad <- fmt.Sprintf("version %d after the write of %d returned", e.Version, floor)
					return
				}
			}
		}
	}()
	stale := 0
	for v := uint64(2); v <= 2000; v++ {
		h.ask(&messages.Install{Key: "a", Entry: entry(merge.Version(v), "a"), Gen: h.v.Gen(h.v.Hash("a")), Reply: messages.NewReply()})
		written.Store(v)
		if e := h.v.Hot("a", h.v.Hash("a")); e != nil && uint64(e.Version) < v {
			stale++
		}
	}
	close(stop)
	wg.Wait()
	if stale > 0 {
		t.Errorf("%d of 1999 reads right after a returned write of a got an older version", stale)
	}
	select {
	case m := <-bad:
		t.Fatalf("a reader of a got %s", m)
	default:
	}
}

// TestEvictionsAreCounted: entries pushed out by the memory bound count in
// Stats.Evicted; deletions do not.
func TestEvictionsAreCounted(t *testing.T) {
	v := newView(t, 1<<20)
	entry := make([]byte, HeaderSize+100)
	const n = 20_000 // about 2.6 MB of entries into a 1 MiB bound
	for i := range n {
		if err := v.cache.Set(fmt.Sprintf("k%05d", i), entry); err != nil {
			t.Fatal(err)
		}
	}
	live := int64(v.cache.Len())
	if ev := int64(v.stats.Evicted.Load()); ev == 0 || ev+live != n {
		t.Fatalf("%d evicted + %d live; want every one of the %d keys in one or the other", ev, live, n)
	}
	before := v.stats.Evicted.Load()
	if err := v.cache.Delete(fmt.Sprintf("k%05d", n-1)); err != nil {
		t.Fatal(err)
	}
	if v.stats.Evicted.Load() != before {
		t.Fatal("a deletion counted as an eviction")
	}
}

// newView returns a View without an actor, bounded to maxBytes, closed
// when the test ends.
func newView(t *testing.T, maxBytes int) *View {
	t.Helper()
	v, err := NewView(Config{Seed: maphash.MakeSeed(), MaxBytes: maxBytes, Now: func() int64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// TestCacheHashesWithTheRoutersSeed checks that the hash a shard gives its
// bigcache slice (keyHasher) is the router's and the View's, and that a
// Config without a seed gets one of its own instead of a View whose Hash
// panics.
func TestCacheHashesWithTheRoutersSeed(t *testing.T) {
	seed := maphash.MakeSeed()
	v, err := NewView(Config{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, k := range []string{"a", "user:00000042", strings.Repeat("k", 300)} {
		if got, want := keyHasher(seed).Sum64(k), maphash.String(seed, k); got != want || v.Hash(k) != want {
			t.Fatalf("%q: keyHasher %x, View.Hash %x, maphash %x", k, got, v.Hash(k), want)
		}
	}
	unseeded, err := NewView(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer unseeded.Close()
	if err := unseeded.cache.Set("k", AppendHeader(nil, Header{Version: 1, Expiry: 1})); err != nil {
		t.Fatal(err)
	}
	_ = unseeded.Hash("k") // panics on a zero seed
	if _, ok := unseeded.Load("k"); !ok {
		t.Fatal("a View built without a seed does not find its keys")
	}
}

// TestHotSetIsOneCacheLine: a hot-tier set is one 64-byte line, so a
// reader's tag scan and a write's way check touch one line.
func TestHotSetIsOneCacheLine(t *testing.T) {
	if n := unsafe.Sizeof(hotSet{}); n != 64 {
		t.Fatalf("hotSet is %d bytes; want 64", n)
	}
}

// HotMaxBytes bounds the hot tier's estimated bytes: promotions that would
// pass it are refused (those keys are served from bigcache), and dropping
// entries frees their share for others.
func TestHotMaxBytes(t *testing.T) {
	t.Parallel()
	const budget = 4 * (hotEntryOverhead + 2 + 100)
	h := newHarnessWith(t, func(c *Config) { c.HotMaxBytes, c.HotSlots = budget, 64 })
	val := strings.Repeat("x", 100)
	hot := func(k string) bool { return h.v.Hot(k, h.v.Hash(k)) != nil }
	promote := func(k string) {
		h.ask(&messages.Install{Key: k, Entry: entry(1, val), Gen: h.v.Gen(h.v.Hash(k)), Reply: messages.NewReply()})
		h.sys.Root.Send(h.v.PID(), &messages.Promote{Key: k})
		h.ask(&messages.Invalidate{Key: "absent", Reply: messages.NewReply()}) // FIFO: the promote ran
	}
	n := 0
	for i := range 10 {
		k := fmt.Sprintf("k%d", i)
		promote(k)
		if hot(k) {
			n++
		}
	}
	if n != 4 || h.v.hotBytes > budget {
		t.Fatalf("%d keys promoted, %d bytes; want 4 within %d", n, h.v.hotBytes, budget)
	}
	h.ask(&messages.Invalidate{Key: "k0", Reply: messages.NewReply()})
	if h.v.hotBytes > budget-(hotEntryOverhead+2+100) {
		t.Fatalf("%d hot bytes after dropping k0; want its share freed", h.v.hotBytes)
	}
	promote("k9")
	if !hot("k9") {
		t.Fatal("a promotion into the freed budget was refused")
	}
}

// sameStripe returns a key other than k in k's stripe.
func sameStripe(h *harness, k string) string {
	want := h.v.StripeOf(h.v.Hash(k))
	for i := 0; ; i++ {
		if o := fmt.Sprintf("o%d", i); h.v.StripeOf(h.v.Hash(o)) == want {
			return o
		}
	}
}

// A transaction whose store commit outlived its fence: a read filled the
// old value after the fence expired, a write to another key moved the
// stripe, and the commit, which may no longer install, must not leave
// that older copy behind either.
func TestTxnCommitDropsWhatItCannotInstall(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.ask(&messages.TxnFence{Keys: []string{"k"}, Token: 50, Until: 1000, Reply: messages.NewReply()})
	gens := []uint64{h.v.Gen(h.v.Hash("k"))}
	h.now = 2000 // the fence expired
	if r := h.ask(&messages.Fill{Key: "k", Entry: entry(40, "old"), Gen: h.v.Gen(h.v.Hash("k")), Reply: messages.NewReply()}); !r.Applied {
		t.Fatal("a fill after the fence expired was not applied")
	}
	o := sameStripe(h, "k")
	h.ask(&messages.Install{Key: o, Entry: entry(45, "x"), Gen: h.v.Gen(h.v.Hash(o)), Reply: messages.NewReply()})
	h.ask(&messages.TxnCommit{Keys: []string{"k"}, Entries: [][]byte{entry(51, "txn")}, Gens: gens, Token: 50, Reply: messages.NewReply()})
	if v, ver := h.get("k"); v != "" && v != "txn" {
		t.Fatalf("after the commit k = %q@%d; want the transaction's value or no copy", v, ver)
	}
}

// A prefix invalidation moves the stripes of keys it matches that are not
// cached yet: a load of one begun before it does not fill.
func TestPrefixInvalidationVoidsLoadsInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gen := h.v.Gen(h.v.Hash("user:1")) // a load begins
	h.ask(&messages.InvalidatePrefix{Prefix: "user:", Reply: messages.NewReply()})
	if r := h.ask(&messages.Fill{Key: "user:1", Entry: entry(40, "old"), Gen: gen, Reply: messages.NewReply()}); r.Applied {
		t.Fatal("a fill loaded before a prefix invalidation landed")
	}
}

// TestAbandonedLockRequests: a key-lock request withdrawn while queued
// leaves the queue and is never granted; one withdrawn after its grant (the
// holder handed the lock on meanwhile) releases it. Requests are known by
// their message, not their reply slot, which a pool may hand to a later
// request while the lock is held.
func TestAbandonedLockRequests(t *testing.T) {
	h := newHarness(t)
	send := func(m any) { h.sys.Root.Send(h.v.PID(), m) }
	lock := func() *messages.LockKey {
		m := &messages.LockKey{Key: "k", Reply: messages.NewReply()}
		send(m)
		return m
	}
	a := lock()
	if !a.Reply.Answered() {
		t.Fatal("a free lock was not granted at once")
	}
	gen := a.Reply.Wait().Gen
	b := lock()
	if b.Reply.Answered() {
		t.Fatal("a held lock was granted")
	}
	send(&messages.AbandonLock{Key: "k", Request: b})
	send(&messages.UnlockKey{Key: "k", Gen: gen})
	if b.Reply.Answered() {
		t.Fatal("a request withdrawn while queued was granted")
	}
	c := lock()
	if !c.Reply.Answered() {
		t.Fatal("the lock is not free after its holder released it and its only waiter withdrew")
	}
	d := lock()
	send(&messages.UnlockKey{Key: "k", Gen: gen})
	if !d.Reply.Answered() {
		t.Fatal("the holder's release did not hand the lock on")
	}
	send(&messages.AbandonLock{Key: "k", Request: d}) // its sender had given up
	e := lock()
	if !e.Reply.Answered() {
		t.Fatal("a lock granted to a withdrawn request stayed held")
	}
	e.Reply.Reset() // the holder's slot, back in a pool and reused
	f := &messages.LockKey{Key: "k", Reply: e.Reply}
	send(f)
	send(&messages.AbandonLock{Key: "k", Request: f})
	if g := lock(); g.Reply.Answered() {
		t.Fatal("the holder lost its lock to the withdrawal of a request that reused its reply slot")
	}
}
