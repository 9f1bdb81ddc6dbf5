package api

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api/codec"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/merge"
)

// Limits on keys and values.
const (
	// MaxKeyLen is the longest key Warp accepts, in bytes.
	MaxKeyLen = 1024
	// DefaultMaxValueSize is the largest encoded value accepted unless
	// WithMaxValueSize says otherwise.
	DefaultMaxValueSize = 1 << 20
)

// Option configures [New].
type Option[T any] func(*options[T]) error

type options[T any] struct {
	node         *actors.Node
	nodeCfg      actors.Config
	router       actors.RouterConfig
	codec        codec.Codec[T]
	engine       *merge.Engine[T]
	maxValueSize int
	bus          *bus.Config
	fenceTTL     time.Duration
	rec          Recorder
	onInval      func(Invalidation)
	leases       *leaseCfg
	locks        *lockCfg
}

// Invalidation is what another node's write did to this node's cache; see
// [WithInvalidationListener].
type Invalidation struct {
	// Key is the key whose copy was dropped; with Prefix, every key that
	// starts with Key was dropped ("" and Prefix: every key, the repair
	// flush after a gap, a reconnect, dropped messages or a lost
	// membership).
	Key    string
	Prefix bool
	// Version is the write's version (0: an invalidation without one).
	// For a StrongDistributed key it is the write's fencing token, at
	// most the version the write stores.
	Version merge.Version
}

// WithInvalidationListener calls fn each time this node has applied an
// invalidation that came over the bus: after the key's copy was dropped
// (and, for a StrongDistributed key, fenced), before the bus handles the
// next message. Use it to drop state derived from cached values, or to
// measure propagation (warp-bench does). fn runs on the bus's delivery
// goroutine: it must return quickly, and calling Warp from it delays
// every later invalidation. It is not called for this node's own writes.
func WithInvalidationListener[T any](fn func(Invalidation)) Option[T] {
	return func(o *options[T]) error { o.onInval = fn; return nil }
}

// WithNode runs the instance on an existing node, which the caller closes.
// By default each instance starts its own node and closes it on Close.
func WithNode[T any](n *actors.Node) Option[T] {
	return func(o *options[T]) error { o.node = n; return nil }
}

// WithNodeConfig configures the node the instance starts (ignored with
// WithNode): its id, logger, clock, clock-skew bound, sweeps and dispatcher.
func WithNodeConfig[T any](cfg actors.Config) Option[T] {
	return func(o *options[T]) error { o.nodeCfg = cfg; return nil }
}

// WithLogger sets the logger of the node the instance starts. Default: no
// logs.
func WithLogger[T any](l *slog.Logger) Option[T] {
	return func(o *options[T]) error { o.nodeCfg.Logger = l; return nil }
}

// WithShards sets the shard count, a power of two. Default
// [actors.DefaultShards] (32 on 2 cores), fewer if the memory bound would
// leave a shard less than 1 MiB.
func WithShards[T any](n int) Option[T] {
	return func(o *options[T]) error { o.router.Shards = n; return nil }
}

// WithMaxBytes bounds the memory of the L1 cache (all shards together).
// Default [actors.DefaultMaxBytes] (256 MiB). When the bound is reached the
// oldest entries are evicted; bigcache reuses the space of an overwritten
// entry only when it reaches the head of its queue, so under overwrites the
// cache fills to the bound (docs/cache.md). Each shard's share is rounded up
// to a whole MiB, and it also bounds the largest value (see
// [Warp.MaxValueSize]).
func WithMaxBytes[T any](n int) Option[T] {
	return func(o *options[T]) error {
		if n <= 0 {
			return fmt.Errorf("%w: max bytes %d", ErrConfig, n)
		}
		o.router.Shard.MaxBytes = n
		return nil
	}
}

// WithHotSlots sets the size of each shard's decoded hot tier, a power of
// two (in sets of 4 slots, a key in any slot of its set); a negative n
// disables it. Default: for []byte and string values, whose decoding
// costs next to nothing, [actors.DefaultHotSlots] (32,768) split among the
// shards, 1,024 each at 32 shards; for values a codec must decode (structs,
// maps...), a tier sized to the memory bound, one slot per KiB of it
// (262,144 at the default 256 MiB), whose entries may take at most a
// quarter of the bound on top of it (estimated: key, encoded value and
// 128 bytes each), so that a working set that fits the cache is served
// decoded.
func WithHotSlots[T any](n int) Option[T] {
	return func(o *options[T]) error { o.router.Shard.HotSlots = n; return nil }
}

// WithCodec sets how values are encoded. Default [codec.Default].
func WithCodec[T any](c codec.Codec[T]) Option[T] {
	return func(o *options[T]) error {
		if c == nil {
			return fmt.Errorf("%w: nil codec", ErrConfig)
		}
		o.codec = c
		return nil
	}
}

// WithMergeEngine sets the merge engine. Default: last-write-wins for every
// key.
func WithMergeEngine[T any](e *merge.Engine[T]) Option[T] {
	return func(o *options[T]) error {
		if e == nil {
			return fmt.Errorf("%w: nil merge engine", ErrConfig)
		}
		o.engine = e
		return nil
	}
}

// WithMaxValueSize sets the largest encoded value accepted, in bytes. A
// Set of a larger value fails with [ErrTooLarge]; a larger value another
// writer put in the store is served from the store, uncached.
func WithMaxValueSize[T any](n int) Option[T] {
	return func(o *options[T]) error {
		if n <= 0 {
			return fmt.Errorf("%w: max value size %d", ErrConfig, n)
		}
		o.maxValueSize = n
		return nil
	}
}
