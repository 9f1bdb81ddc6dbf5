package shard

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/allegro/bigcache/v3"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/merge"
)

// HotEntry is a decoded entry in the hot tier. It is immutable once
// published. Config.NewHot builds it, and may embed it in a larger
// allocation that also holds the decoded value and the key's bytes, so
// that a hit touches one or two cache lines, not four.
type HotEntry struct {
	Key   string
	Value any
	Header
	// Size is the entry's estimated bytes (key, encoded value and the
	// entry itself), what it counts against Config.HotMaxBytes; the shard
	// sets it.
	Size int
}

// View is a shard's state as readers see it. The shard actor is its only
// writer; readers call its methods concurrently and never wait for the
// actor. A View outlives restarts of its actor.
type View struct {
	cfg   Config
	cache *bigcache.BigCache
	// hot is the decoded hot tier: sets of hotWays slots, one cache line
	// each, indexed by hash (see hotSet).
	hot     []hotSet
	hotMask uint64
	hotOn   bool
	// hotBytes is the sum of the hot entries' Size; the actor's alone.
	hotBytes int
	// hotNext is each set's next victim when all its ways are taken
	// (round robin); touched only by the actor.
	hotNext []uint8
	// gens are the fill generations, striped by hash: a write or an
	// invalidation bumps its key's stripe.
	gens       []stripe
	stripeMask uint64
	restarts   atomic.Uint64

	// pid is set once the actor is spawned.
	pid atomic.Pointer[actor.PID]

	// Gate: requests hold it shared while they talk to the actor; Close
	// takes it exclusively, so no request is in flight once the shard stops.
	Gate   sync.RWMutex
	closed bool // guarded by Gate

	stats    Stats
	maxEntry int

	// started is set by the first actor instance; touched only by the actor.
	started bool
	// fences and fenceAll belong to the actor (see shard.fences); touched
	// only by it. Until fenceAll, no key may be cached: a fence beyond
	// MaxFences or MaxFenceTokens was not recorded.
	fences   map[string][]fence
	fenceAll int64
	fenced   atomic.Int64 // len(fences), for readers
}

// Stats are a shard's counters, safe to read at any time.
type Stats struct {
	Installs, Fills, StaleFills, Invalidations, Expired, Evicted, Promotions atomic.Uint64
	// FenceOverflows counts fences beyond MaxFences or MaxFenceTokens.
	FenceOverflows atomic.Uint64
}

// NewView allocates a shard's state.
func NewView(cfg Config) (*View, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sets := hotSets(cfg.HotSlots)
	v := &View{
		cfg:        cfg,
		hot:        make([]hotSet, sets),
		hotNext:    make([]uint8, sets),
		hotMask:    uint64(sets - 1),
		hotOn:      cfg.HotSlots > 1,
		gens:       make([]stripe, cfg.Stripes),
		stripeMask: uint64(cfg.Stripes - 1),
		fences:     map[string][]fence{},
	}
	bc := bigcache.DefaultConfig(cfg.LifeWindow)
	// One queue per MiB of the shard's bound, at most 64: queues of at
	// least 1 MiB, so that the largest cacheable entry (half a queue) does
	// not shrink as shards multiply (256 shards of 1 MiB, the default on
	// 16 cores, had 4 queues of 256 KiB each: 126 KiB values at most).
	mib := max(1, (cfg.MaxBytes+(1<<20)-1)>>20)
	bc.Shards = min(64, 1<<(bits.Len(uint(mib))-1))
	bc.CleanWindow = 0 // expiry is the shard's job; no bigcache goroutine
	// bigcache bounds memory in whole MiB; it starts each of its shards at
	// MaxEntriesInWindow·MaxEntrySize/Shards bytes and doubles up to the
	// bound. Start at an eighth of the bound so a small cache stays small.
	bc.HardMaxCacheSize = max(1, (cfg.MaxBytes+(1<<20)-1)>>20)
	bc.MaxEntrySize = 256
	bc.MaxEntriesInWindow = max(bc.Shards, bc.HardMaxCacheSize<<20/8/bc.MaxEntrySize)
	bc.Verbose = false
	bc.Logger = nopLogger{}
	bc.Hasher = keyHasher(cfg.Seed)
	// bigcache passes its removal callback copies of the key and the
	// entry: two allocations per removal. Only the removals counted here
	// call it, not the deletions every invalidation makes.
	bc.OnRemoveWithReason = func(string, []byte, bigcache.RemoveReason) { v.stats.Evicted.Add(1) }
	bc = bc.OnRemoveFilterSet(bigcache.NoSpace, bigcache.Expired)
	c, err := bigcache.New(context.Background(), bc)
	if err != nil {
		return nil, fmt.Errorf("shard: bigcache: %w", err)
	}
	v.cache = c
	v.maxEntry = bc.HardMaxCacheSize << 20 / bc.Shards / 2
	return v, nil
}

// hotWays is the number of slots of a hot-tier set.
const hotWays = 4

// hotSets returns the number of sets that hold slots slots (rounded up to
// whole sets).
func hotSets(slots int) int { return max(1, slots/hotWays) }

// hotSet is one set of the hot tier: a key may sit in any of its ways.
// Each slot pairs the entry with a tag, the hash of the entry's key (0:
// empty), so a reader and the actor find a key's way by comparing the tags
// of one cache line, without loading the entries of other keys. The tag
// is only a hint: a reader checks the entry's own key, so a slot caught
// between its tag and its entry being replaced is a miss, never another
// key's value.
type hotSet struct {
	slot [hotWays]hotSlot
}

type hotSlot struct {
	tag atomic.Uint64
	e   atomic.Pointer[HotEntry]
}

// hotTag is the tag of a key whose hash is h; never 0.
func hotTag(h uint64) uint64 { return h | 1 }

// find returns the way that holds key (tag t) and its entry, or -1. Only
// ways tagged t are loaded: a key is in at most one way of its set.
func (set *hotSet) find(key string, t uint64) (int, *HotEntry) {
	for i := range set.slot {
		if set.slot[i].tag.Load() == t {
			if e := set.slot[i].e.Load(); e != nil && e.Key == key {
				return i, e
			}
		}
	}
	return -1, nil
}

// put publishes e in the slot (tag t). Entry first, then tag: a reader
// that sees the new tag sees this entry or a later one, and checks its key
// either way.
func (sl *hotSlot) put(e *HotEntry, t uint64) {
	sl.e.Store(e)
	sl.tag.Store(t)
}

// clear empties the slot. Entry first: from then on no reader is served
// it.
func (sl *hotSlot) clear() {
	sl.e.Store(nil)
	sl.tag.Store(0)
}

// stripe is one fill-generation stripe. Loaders read gen; maxVer belongs
// to the shard actor. They share a cache line, so a write that reads and
// bumps both misses the cache once, not twice.
type stripe struct {
	gen atomic.Uint64
	// maxVer is the largest version installed in the stripe since the
	// shard (re)started: an entry whose version is larger is newer than
	// anything cached for the stripe's keys.
	maxVer merge.Version
}

// keyHasher is bigcache's key hash: maphash with the router's seed, the
// hash the router and the shard already use, instead of bigcache's default
// FNV-1a, which reads the key a byte at a time. Every cache read and write
// hashes its key; against the default, a 13-byte key takes 0.82× the time,
// 32 bytes 0.36× and 64 bytes 0.19× (BenchmarkKeyHash). bigcache picks its
// own shard by the low bits and the router by the high ones, so the two
// choices do not correlate.
type keyHasher maphash.Seed

// Sum64 implements bigcache.Hasher.
func (h keyHasher) Sum64(key string) uint64 { return maphash.String(maphash.Seed(h), key) }

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// Hash returns the hash of key the router and the shard agree on.
func (v *View) Hash(key string) uint64 { return maphash.String(v.cfg.Seed, key) }

// Hot returns key's entry in the hot tier (h is key's hash), or nil.
func (v *View) Hot(key string, h uint64) *HotEntry {
	_, e := v.hot[h&v.hotMask].find(key, hotTag(h))
	return e
}

// HotFull reports whether every way of the hot-tier set of hash h holds
// an entry.
func (v *View) HotFull(h uint64) bool {
	set := &v.hot[h&v.hotMask]
	for i := range set.slot {
		if set.slot[i].tag.Load() == 0 {
			return false
		}
	}
	return true
}

// Cache returns the shard's bigcache slice, for read-only scans (the
// validator); only the actor writes it.
func (v *View) Cache() *bigcache.BigCache { return v.cache }

// HotSlots returns the number of slots of the shard's hot tier (0 when it
// has none).
func (v *View) HotSlots() int {
	if !v.hotOn {
		return 0
	}
	return len(v.hot) * hotWays
}

// HotEnabled reports whether the shard keeps a decoded hot tier.
func (v *View) HotEnabled() bool { return v.hotOn }

// Load returns a copy of key's entry, header included, from the cache.
func (v *View) Load(key string) ([]byte, bool) {
	b, err := v.cache.Get(key)
	return b, err == nil
}

// Gen returns the fill generation of the stripe of hash h. A loader reads
// it before loading from the store and passes it in [messages.Fill].
func (v *View) Gen(h uint64) uint64 { return v.gens[v.StripeOf(h)].gen.Load() }

// Gens returns a snapshot of every stripe's fill generation, for loaders
// that read many keys before they know which (a warmup scan); pass
// snapshot[StripeOf(h)] as the generation of a key with hash h.
func (v *View) Gens() []uint64 {
	out := make([]uint64, len(v.gens))
	for i := range v.gens {
		out[i] = v.gens[i].gen.Load()
	}
	return out
}

// StripeOf returns the stripe of hash h.
func (v *View) StripeOf(h uint64) int { return int((h >> 32) & v.stripeMask) }

// Restarts returns how many times the shard actor was restarted after a
// panic: its generation.
func (v *View) Restarts() uint64 { return v.restarts.Load() }

// PID returns the shard actor's PID, nil before it is spawned.
func (v *View) PID() *actor.PID { return v.pid.Load() }

// Len returns the number of entries in the cache, expired ones included.
func (v *View) Len() int { return v.cache.Len() }

// MaxEntry returns the largest entry (header, key and value) the shard can
// cache: half of one bigcache queue, so an entry always fits beside others.
func (v *View) MaxEntry() int { return v.maxEntry }

// Bytes returns the bytes the cache has allocated.
func (v *View) Bytes() int { return v.cache.Capacity() }

// Fences returns how many keys hold a fence on this shard.
func (v *View) Fences() int { return int(v.fenced.Load()) }

// Stats returns the shard's counters.
func (v *View) Stats() *Stats { return &v.stats }

// Enter marks the start of a request to the actor; it fails once the shard
// is closed. Every successful Enter is followed by [View.Leave].
func (v *View) Enter() bool {
	v.Gate.RLock()
	if v.closed {
		v.Gate.RUnlock()
		return false
	}
	return true
}

// Leave marks the end of a request started with [View.Enter].
func (v *View) Leave() { v.Gate.RUnlock() }

// Seal waits for requests in flight and refuses new ones.
func (v *View) Seal() {
	v.Gate.Lock()
	v.closed = true
	v.Gate.Unlock()
}

// Close releases the cache. Call it after the actor has stopped.
func (v *View) Close() error {
	if err := v.cache.Close(); err != nil && !errors.Is(err, bigcache.ErrEntryNotFound) {
		return fmt.Errorf("shard: close: %w", err)
	}
	return nil
}
