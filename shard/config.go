package shard

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/bits"
	"time"
)

// Config configures one shard. The zero value of every field is a documented
// default.
type Config struct {
	// Index is the shard's position in its router, for logs and names.
	Index int
	// Seed is the hash seed the router uses; the shard and its bigcache
	// slice hash keys with it. Zero: a seed of the shard's own.
	Seed maphash.Seed
	// MaxBytes bounds the bytes of cached entries (bigcache's hard limit,
	// rounded up to whole MiB). Default 32 MiB. When full, the oldest
	// entries are evicted: bigcache reuses space only by evicting from the
	// head of its queue, so an overwritten entry's old bytes count against
	// the bound until they reach the head.
	MaxBytes int
	// HotSlots is the number of slots of the decoded hot tier, a power of
	// two, in sets of 4 (fewer than 4 make one set). Default 4096; a
	// negative value disables the hot tier.
	HotSlots int
	// Stripes is the number of fill-generation stripes, a power of two.
	// Default 512 (docs/cache.md, "Fill generations").
	Stripes int
	// LifeWindow is bigcache's life window, only a backstop behind per-entry
	// expiry. Default 24h.
	LifeWindow time.Duration
	// HotMaxBytes bounds the estimated bytes of the hot tier's entries
	// (key, encoded value and the entry): a promotion that would pass it
	// is refused unless it replaces a larger entry. 0: only HotSlots
	// bounds the tier.
	HotMaxBytes int
	// NewHot builds the hot-tier entry of key from its header and encoded
	// value (decoding it). Nil disables the hot tier. [DecodeHot] makes one
	// from a decode function.
	NewHot func(key string, hdr Header, val []byte) (*HotEntry, error)
	// Now reads the node's clock, in nanoseconds; it times fences. Nil
	// means fences never expire before a sweep at a later Now.
	Now func() int64
	// MaxFences bounds the keys with a fence held (strong writes and
	// transactions in flight), and MaxFenceTokens the tokens held on one
	// key; defaults 1024 and 64. A fence beyond either bound is not
	// recorded: the shard then caches no key at all until that fence would
	// have expired (its Until), which keeps the memory bounded whatever
	// peers send, at the price of L1 for that time.
	MaxFences, MaxFenceTokens int
	// Logger receives the shard's logs. Nil discards them.
	Logger *slog.Logger
	// OnReceive, if set, sees every user message before the shard handles
	// it; a panic in it is handled like a panic in the shard. A test seam.
	OnReceive func(msg any)
}

// DecodeHot returns a Config.NewHot that stores what decode returns as the
// entry's Value.
func DecodeHot(decode func([]byte) (any, error)) func(string, Header, []byte) (*HotEntry, error) {
	return func(key string, hdr Header, val []byte) (*HotEntry, error) {
		v, err := decode(val)
		if err != nil {
			return nil, err
		}
		return &HotEntry{Key: key, Value: v, Header: hdr}, nil
	}
}

func (c *Config) validate() error {
	if c.MaxBytes < 0 {
		return fmt.Errorf("shard: MaxBytes %d < 0", c.MaxBytes)
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 32 << 20
	}
	if c.Seed == (maphash.Seed{}) {
		c.Seed = maphash.MakeSeed()
	}
	if c.HotSlots == 0 {
		c.HotSlots = 4096
	}
	if c.NewHot == nil || c.HotSlots < 0 {
		c.HotSlots = 1
	}
	if c.Stripes == 0 {
		c.Stripes = 512
	}
	for name, n := range map[string]int{"HotSlots": c.HotSlots, "Stripes": c.Stripes} {
		if bits.OnesCount(uint(n)) != 1 {
			return fmt.Errorf("shard: %s %d is not a power of two", name, n)
		}
	}
	if c.MaxFences <= 0 {
		c.MaxFences = 1024
	}
	if c.MaxFenceTokens <= 0 {
		c.MaxFenceTokens = 64
	}
	if c.LifeWindow <= 0 {
		c.LifeWindow = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
