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
	// Clock is the time source. Default: the system clock.
	Clock Clock
	// Resolution is how often the node's coarse clock advances; entry
	// expiry is checked against it, so an entry may be served up to one
	// Resolution past its TTL. Default 1ms.
	Resolution time.Duration
	// SweepInterval is how often each shard drops up to SweepBudget expired
	// entries. Defaults 100ms and 256.
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
	if c.Resolution < 0 || c.SweepInterval < 0 || c.SweepBudget < 0 {
		return fmt.Errorf("actors: negative Resolution, SweepInterval or SweepBudget: %w", ErrConfig)
	}
	if c.Resolution == 0 {
		c.Resolution = time.Millisecond
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = 100 * time.Millisecond
	}
	if c.SweepBudget == 0 {
		c.SweepBudget = 256
	}
	if c.Dispatcher != DispatchInline && c.Dispatcher != DispatchGoroutine {
		return fmt.Errorf("actors: unknown dispatcher %d: %w", c.Dispatcher, ErrConfig)
	}
	return nil
}

// DefaultShards is the shard count used when none is given: four per CPU,
// at least 8, a power of two.
func DefaultShards() int {
	n := max(8, 4*runtime.GOMAXPROCS(0))
	return 1 << bits.Len(uint(n-1))
}
