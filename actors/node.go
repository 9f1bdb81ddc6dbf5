package actors

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
)

// Node owns one actor system and everything that runs on it: the routers
// and their shard actors, the sweep timer and the hybrid logical clock.
// Close stops them all and waits.
type Node struct {
	cfg    Config
	system *actor.ActorSystem
	start  time.Time // monotonic origin of Now
	wall   time.Time // the Clock's reading at start
	// wall in milliseconds after the Unix epoch (rounded down) and the
	// nanoseconds beyond them, for HLCAt.
	wallMs, wallSubMs int64
	hlc               *merge.Clock
	epoch             uint64

	mu      sync.Mutex // guards routers, closed and building's Add
	routers map[*Router]struct{}
	closed  bool
	// building counts NewRouter calls between their check of closed and
	// their router's registration: Close waits for them before it closes
	// the routers and shuts the actor system down, so that no shard is
	// spawned on a system being shut down and none is left unclosed.
	building sync.WaitGroup

	stop chan struct{}
	done chan struct{} // the node's goroutine ended
	shut chan struct{} // Close finished: routers closed, system shut down

	// closing, if set (tests), is called by the first Close once the node
	// is marked closed, before it stops anything.
	closing func()
	// spawning, if set (tests), is called by NewRouter once it counted
	// itself in building, before it spawns anything.
	spawning func()
}

// NewNode starts a node.
func NewNode(cfg Config) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.ID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg.ID = "node-" + hex.EncodeToString(b[:])
	}
	logger := cfg.Logger
	n := &Node{
		cfg: cfg,
		system: actor.NewActorSystemWithConfig(actor.Configure(
			actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }),
		)),
		start:   time.Now(),
		wall:    cfg.Clock.Now(),
		routers: map[*Router]struct{}{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		shut:    make(chan struct{}),
	}
	n.epoch = uint64(max(n.wall.UnixNano(), 1))
	n.wallMs, n.wallSubMs = n.wall.UnixMilli(), int64(n.wall.Nanosecond()%1e6)
	// The HLC's wall time is the start reading plus monotonic time: a
	// wall-clock step while the node runs changes no version.
	n.hlc = merge.NewClock(func() time.Time { return n.wall.Add(time.Duration(n.Now())) }, cfg.MaxClockAhead)
	go n.run()
	return n, nil
}

// run asks the shards to sweep expired entries every SweepInterval.
func (n *Node) run() {
	defer close(n.done)
	tick := time.NewTicker(n.cfg.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-tick.C:
			n.sweep()
		}
	}
}

func (n *Node) sweep() {
	n.mu.Lock()
	routers := make([]*Router, 0, len(n.routers))
	for r := range n.routers {
		routers = append(routers, r)
	}
	n.mu.Unlock()
	now := n.Now()
	for _, r := range routers {
		r.each(func(i int) any { return &messages.Sweep{Now: now, Budget: r.sweepBudget} })
	}
}

// ID returns the node's id.
func (n *Node) ID() string { return n.cfg.ID }

// Epoch identifies this run of the node: a restarted node has a new epoch.
func (n *Node) Epoch() uint64 { return n.epoch }

// Now returns the nanoseconds since the node started, read afresh from the
// monotonic clock on every call (about 25 ns here). Every deadline the node
// keeps (entry TTLs, fences, the lease, grace periods) is checked against
// it, so none can lag after the process was paused, however long: a clock
// that a ticker advances would still show the time the pause began to the
// first reads after it.
func (n *Node) Now() int64 { return int64(time.Since(n.start)) }

// HLCAt returns the next version of the node's hybrid logical clock for a
// reading now of Now: one clock read serves the caller's deadline and the
// version.
func (n *Node) HLCAt(now int64) merge.Version {
	return n.hlc.NowAt(merge.MakeVersionMilli(n.wallMilli(now)))
}

// wallMilli is the wall time at the reading now of Now in milliseconds
// after the Unix epoch, rounded down: the start reading's UnixMilli plus
// now, without time.Time's arithmetic.
func (n *Node) wallMilli(now int64) int64 {
	q := n.wallSubMs + now
	ms := q / 1e6
	if q%1e6 < 0 {
		ms-- // round down before the start reading too
	}
	return n.wallMs + ms
}

// Start returns the origin of Now: the monotonic clock's reading when the
// node started.
func (n *Node) Start() time.Time { return n.start }

// HLC returns the node's hybrid logical clock.
func (n *Node) HLC() *merge.Clock { return n.hlc }

// Clock returns the node's time source.
func (n *Node) Clock() Clock { return n.cfg.Clock }

// Logger returns the node's logger.
func (n *Node) Logger() *slog.Logger { return n.cfg.Logger }

// System returns the node's actor system.
func (n *Node) System() *actor.ActorSystem { return n.system }

// Close stops every router and the node's goroutine, and waits. It is
// idempotent: a call concurrent with the first returns when the first
// has finished.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		<-n.shut
		return nil
	}
	n.closed = true
	routers := n.routers
	n.routers = map[*Router]struct{}{}
	n.mu.Unlock()
	defer close(n.shut)
	if n.closing != nil {
		n.closing()
	}
	close(n.stop)
	<-n.done
	n.building.Wait()
	for r := range routers {
		r.close()
	}
	n.system.Shutdown()
	return nil
}
