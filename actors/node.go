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
// and their shard actors, the coarse clock and the hybrid logical clock.
// Close stops them all and waits.
type Node struct {
	cfg    Config
	system *actor.ActorSystem
	coarse *coarse
	hlc    *merge.Clock
	epoch  uint64

	mu      sync.Mutex // guards routers and closed
	routers map[*Router]struct{}
	closed  bool

	stop chan struct{}
	done chan struct{}
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
		coarse:  newCoarse(cfg.Clock),
		epoch:   uint64(cfg.Clock.Now().UnixNano()),
		routers: map[*Router]struct{}{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	// The HLC reads the coarse clock too: it only needs milliseconds, and
	// its logical counter keeps versions unique.
	n.hlc = merge.NewClock(func() time.Time { return n.coarse.start.Add(time.Duration(n.Now())) })
	go n.run()
	return n, nil
}

// run advances the coarse clock and asks shards to sweep expired entries.
func (n *Node) run() {
	defer close(n.done)
	tick := time.NewTicker(n.cfg.Resolution)
	defer tick.Stop()
	sweepEvery := max(1, int(n.cfg.SweepInterval/n.cfg.Resolution))
	for i := 1; ; i++ {
		select {
		case <-n.stop:
			return
		case <-tick.C:
			n.coarse.tick()
			if i%sweepEvery == 0 {
				n.sweep()
			}
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

// Now returns the coarse clock's reading: nanoseconds since the node
// started, advanced every Config.Resolution. One atomic load.
func (n *Node) Now() int64 { return n.coarse.nanos.Load() }

// Since converts a wall-clock time to the coarse clock's scale.
func (n *Node) Since(t time.Time) int64 { return int64(t.Sub(n.coarse.start)) }

// HLC returns the node's hybrid logical clock.
func (n *Node) HLC() *merge.Clock { return n.hlc }

// Clock returns the node's time source.
func (n *Node) Clock() Clock { return n.cfg.Clock }

// Logger returns the node's logger.
func (n *Node) Logger() *slog.Logger { return n.cfg.Logger }

// System returns the node's actor system.
func (n *Node) System() *actor.ActorSystem { return n.system }

// Close stops every router and the node's goroutine, and waits. It is
// idempotent.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		<-n.done
		return nil
	}
	n.closed = true
	routers := n.routers
	n.routers = map[*Router]struct{}{}
	n.mu.Unlock()
	close(n.stop)
	<-n.done
	for r := range routers {
		r.close()
	}
	n.system.Shutdown()
	return nil
}
