package actors

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/internal/mailbox"
	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
)

// RouterConfig configures a [Router]: how many shards, and the template
// every shard's config is built from (Index and Seed are set per shard;
// MaxBytes is the bound for the whole router, default [DefaultMaxBytes],
// and is split evenly).
//
// Shard.HotSlots and Shard.Stripes are per shard; left 0, the router
// splits [DefaultHotSlots] and [DefaultStripes] among its shards, so the
// hot tier's size and the fill generations' footprint do not depend on the
// shard count.
type RouterConfig struct {
	// Shards is the shard count, a power of two. Default [DefaultShards],
	// lowered to a power of two that leaves every shard at least 1 MiB of
	// the memory bound (bigcache rounds a shard's bound up to whole MiB).
	Shards int
	Shard  shard.Config
	// HotSlots and HotMaxBytes are the router's hot-tier totals, split
	// among its shards where Shard.HotSlots and Shard.HotMaxBytes are 0;
	// HotSlots 0 means [DefaultHotSlots], HotMaxBytes 0 no byte budget.
	HotSlots, HotMaxBytes int
}

// DefaultMaxBytes is a router's memory bound for cached entries when none
// is given.
const DefaultMaxBytes = 256 << 20

// DefaultHotSlots is the size of a router's hot tier, over all its shards,
// when none is given.
const DefaultHotSlots = 32768

// DefaultStripes is the number of a router's fill-generation stripes, over
// all its shards, when none is given (docs/cache.md, "Fill generations").
const DefaultStripes = 4096

// Router maps keys to shard actors by hash and owns those actors.
type Router struct {
	// Replies recycles the reply slots of requests to this router's shards.
	// It is an allocation of its own: the runtime keeps a used pool until
	// the second collection after its last Put, and an embedded one would
	// keep the closed router and its caches that long too.
	Replies *messages.ReplyPool

	node  *Node
	seed  maphash.Seed
	shift uint
	views []*shard.View
	once  sync.Once
	// sweepBudget is each shard's Sweep budget: the node's SweepBudget, or
	// its share of DefaultSweepBudget.
	sweepBudget int
}

// perShard is one shard's share of a router-wide total: at least 1.
func perShard(total, shards int) int { return max(1, total/shards) }

// NewRouter spawns a router's shards on the node.
func (n *Node) NewRouter(cfg RouterConfig) (*Router, error) {
	maxBytes := cfg.Shard.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	if cfg.Shards == 0 {
		mib := max(1, maxBytes>>20)
		cfg.Shards = min(DefaultShards(), 1<<(bits.Len(uint(mib))-1))
	}
	if cfg.Shard.HotSlots == 0 {
		cfg.Shard.HotSlots = perShard(cmp.Or(cfg.HotSlots, DefaultHotSlots), cfg.Shards)
	}
	if cfg.Shard.HotMaxBytes == 0 && cfg.HotMaxBytes > 0 {
		cfg.Shard.HotMaxBytes = perShard(cfg.HotMaxBytes, cfg.Shards)
	}
	if cfg.Shard.Stripes == 0 {
		cfg.Shard.Stripes = perShard(DefaultStripes, cfg.Shards)
	}
	if cfg.Shards < 1 || bits.OnesCount(uint(cfg.Shards)) != 1 {
		return nil, fmt.Errorf("actors: %d shards is not a power of two: %w", cfg.Shards, ErrConfig)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, fmt.Errorf("actors: new router: %w", ErrClosed)
	}
	n.building.Add(1)
	n.mu.Unlock()
	defer n.building.Done()
	if n.spawning != nil {
		n.spawning()
	}
	r := &Router{Replies: new(messages.ReplyPool), node: n, seed: maphash.MakeSeed(), shift: uint(64 - bits.TrailingZeros(uint(cfg.Shards))),
		sweepBudget: n.cfg.SweepBudget}
	if r.sweepBudget == 0 {
		r.sweepBudget = perShard(DefaultSweepBudget, cfg.Shards)
	}
	var d actor.Dispatcher = actor.NewSynchronizedDispatcher(300)
	mb := mailbox.New()
	if n.cfg.Dispatcher == DispatchGoroutine {
		d, mb = actor.NewDefaultDispatcher(300), actor.Unbounded()
	}
	for i := range cfg.Shards {
		sc := cfg.Shard
		sc.Index, sc.Seed = i, r.seed
		sc.MaxBytes = perShard(maxBytes, cfg.Shards)
		if sc.Logger == nil {
			sc.Logger = n.cfg.Logger
		}
		if sc.Now == nil {
			sc.Now = n.Now
		}
		v, err := shard.NewView(sc)
		if err != nil {
			r.closeViews()
			return nil, err
		}
		r.views = append(r.views, v)
		n.system.Root.Spawn(shard.Props(v, d, mb))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		r.close()
		return nil, fmt.Errorf("actors: new router: %w", ErrClosed)
	}
	n.routers[r] = struct{}{}
	return r, nil
}

// Hash returns key's hash.
func (r *Router) Hash(key string) uint64 { return maphash.String(r.seed, key) }

// Shard returns the shard that owns hash h.
func (r *Router) Shard(h uint64) *shard.View { return r.views[r.ShardIndex(h)] }

// ShardIndex returns the index in Shards of the shard that owns hash h.
func (r *Router) ShardIndex(h uint64) int { return int((h >> r.shift) & uint64(len(r.views)-1)) }

// Shards returns every shard's view.
func (r *Router) Shards() []*shard.View { return r.views }

// Send delivers msg to v's actor. The caller holds v's gate (View.Enter).
func (r *Router) Send(v *shard.View, msg any) {
	r.node.system.Root.Send(v.PID(), msg)
}

// Each sends every shard the message mk(i) builds, carrying a reply, and
// waits for every reply; it returns the first error.
func (r *Router) Each(mk func(i int, rep *messages.Reply) any) error {
	reps := make([]*messages.Reply, len(r.views))
	for i, v := range r.views {
		if !v.Enter() {
			return fmt.Errorf("actors: %w", ErrClosed)
		}
		reps[i] = r.Replies.Get()
		r.Send(v, mk(i, reps[i]))
		v.Leave()
	}
	var first error
	for _, rep := range reps {
		if res := rep.Wait(); res.Err != nil && first == nil {
			first = res.Err
		}
		r.Replies.Put(rep)
	}
	return first
}

// each sends every open shard a message that needs no reply.
func (r *Router) each(mk func(i int) any) {
	for i, v := range r.views {
		if v.Enter() {
			r.Send(v, mk(i))
			v.Leave()
		}
	}
}

// Close stops the router's shards and waits: requests in flight finish,
// new ones fail with ErrClosed. It is idempotent.
func (r *Router) Close() error {
	r.node.mu.Lock()
	delete(r.node.routers, r)
	r.node.mu.Unlock()
	r.close()
	return nil
}

func (r *Router) close() {
	r.once.Do(func() {
		for _, v := range r.views {
			v.Seal()
		}
		for _, v := range r.views {
			if pid := v.PID(); pid != nil {
				_ = r.node.system.Root.PoisonFuture(pid).Wait()
			}
		}
		r.closeViews()
	})
}

func (r *Router) closeViews() {
	for _, v := range r.views {
		_ = v.Close()
	}
}
