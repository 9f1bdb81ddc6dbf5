package actors

import (
	"fmt"
	"log/slog"
	"math/bits"
	"runtime"
	"time"
)

// Config configures a [Node]. The zero value is a working default.
type Config struct {
	// ID names the node on the bus. Default: a random id.
	ID string
	// Logger receives the node's and the actor system's logs. Default:
	// discarded, so an embedded node is quiet.
	Logger *slog.Logger
	// Clock is the wall clock the node's hybrid logical clock starts from
	// (see [Clock]). Default: the system clock.
	Clock Clock
	// MaxClockAhead bounds how far ahead of this node's clock a version
	// from another node or from the store may be for the node's clock to
	// observe it (merge.Clock.Observe); a version further ahead is
	// refused, so one node with a bad clock cannot move every node's.
	// Default merge.DefaultMaxAhead (10 s).
	MaxClockAhead time.Duration
	// SweepInterval is how often each shard inspects up to SweepBudget
	// entries and drops the expired ones. Default 100ms. SweepBudget
	// defaults to [DefaultSweepBudget] split among a router's shards (64
	// each at 32 shards), so a full pass over the cache takes as long
	// whatever the shard count.
	SweepInterval time.Duration
	SweepBudget   int
	// Dispatcher picks how shard mailboxes run: DispatchInline (default)
	// runs a shard's mailbox on the goroutine that finds it idle, which
	// makes a request round trip cost about a microsecond; DispatchGoroutine
	// is protoactor's default, a new goroutine per mailbox run.
	Dispatcher Dispatch
}

// Dispatch selects a mailbox dispatcher.
type Dispatch int

// The dispatchers; see [Config].Dispatcher and docs/core.md.
const (
	DispatchInline Dispatch = iota
	DispatchGoroutine
)

func (c *Config) validate() error {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = ClockFunc(time.Now)
	}
	if c.MaxClockAhead < 0 || c.SweepInterval < 0 || c.SweepBudget < 0 {
		return fmt.Errorf("actors: negative MaxClockAhead, SweepInterval or SweepBudget: %w", ErrConfig)
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = 100 * time.Millisecond
	}
	if c.Dispatcher != DispatchInline && c.Dispatcher != DispatchGoroutine {
		return fmt.Errorf("actors: unknown dispatcher %d: %w", c.Dispatcher, ErrConfig)
	}
	return nil
}

// DefaultSweepBudget is how many entries one sweep of a router inspects,
// over all its shards, when Config.SweepBudget is not set.
const DefaultSweepBudget = 2048

// DefaultShards is the shard count used when none is given: sixteen per
// CPU, at least 8, a power of two. Two writers collide on a shard (one
// waits while the other runs its message) about once in every shards
// writes; on 2 cores, 32 shards instead of 8 made a parallel Set about 5%
// faster (ten interleaved pairs, docs/performance.md). A router lowers it
// so that every shard's slice of the memory bound is at least 1 MiB
// ([RouterConfig]).
func DefaultShards() int {
	n := max(8, 16*runtime.GOMAXPROCS(0))
	return 1 << bits.Len(uint(n-1))
}
