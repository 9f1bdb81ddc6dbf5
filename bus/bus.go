package bus

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/internal/mailbox"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages/wire"
)

// Bus is one node's end of the sync bus: a facade over the bus actor, which
// owns all protocol state. Build one with [New]; it is safe for concurrent
// use.
type Bus struct {
	cfg    Config
	epoch  uint64
	root   *actor.RootContext
	pid    *actor.PID
	ctx    context.Context // canceled by Close; bounds Applier calls
	cancel context.CancelFunc

	queue    chan pubItem  // asynchronous publishes, drained by pump
	overflow atomic.Bool   // a publish found queue full: send a flush
	kick     chan struct{} // wakes pump after an overflow
	credits  chan struct{} // bounds batches in the actor's mailbox

	base      time.Time    // origin of lease
	monotonic bool         // cfg.Now is time.Now: LeaseValid may use time.Since
	lease     atomic.Int64 // lease deadline in ns since base; 0 = no lease
	members   atomic.Pointer[[]string]
	stats     counters
	errs      chan error
	nextID    atomic.Uint64

	closed    atomic.Bool
	stop      chan struct{} // closed by Close: stops pump and ticker
	stopped   chan struct{} // closed once the actor has stopped
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// epochs makes epochs unique in a process even when the clock does not
// move between two New calls.
var epochs atomic.Uint64

// New starts the bus actor for cfg on system and joins the cluster. Close
// the Bus to leave; it owns cfg.Transport.
func New(system *actor.ActorSystem, cfg Config) (*Bus, error) {
	monotonic := cfg.Now == nil
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if system == nil {
		return nil, fmt.Errorf("%w: nil actor system", ErrInvalid)
	}
	b := &Bus{
		cfg: cfg, root: system.Root, base: cfg.Now(), monotonic: monotonic,
		queue: make(chan pubItem, cfg.QueueSize), kick: make(chan struct{}, 1),
		credits: make(chan struct{}, 2), errs: make(chan error, 64),
		stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	b.epoch = newEpoch(time.Now())
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.members.Store(new([]string))
	a := newBusActor(b)
	// The inline dispatcher runs the mailbox on the goroutine that finds it
	// idle (a transport callback, a publisher, the ticker): no goroutine per
	// mailbox run, which costs several microseconds on every hop of a
	// strong write. The actor never waits on anything that waits on it.
	b.pid = b.root.Spawn(actor.PropsFromProducer(func() actor.Actor { return a },
		actor.WithDispatcher(actor.NewSynchronizedDispatcher(300)), actor.WithMailbox(mailbox.New())))
	if err := cfg.Transport.Open(cfg.Cluster, cfg.NodeID, HandlerFuncs{Message: b.receive, State: b.state}); err != nil {
		b.root.Stop(b.pid)
		b.cancel()
		return nil, err
	}
	b.wg.Add(1)
	go b.pump()
	if !cfg.manualTick {
		b.wg.Add(1)
		go b.ticker()
	}
	return b, nil
}

// newEpoch returns a number larger than any earlier epoch of this node id:
// the start time in nanoseconds, bumped past the previous one.
func newEpoch(now time.Time) uint64 {
	for {
		last, e := epochs.Load(), uint64(now.UnixNano())
		e = max(e, last+1)
		if epochs.CompareAndSwap(last, e) {
			return e
		}
	}
}

// Publish announces that key was written at version v. It never blocks:
// publishes are queued and batched; if the queue is full, the bus
// broadcasts a flush instead, so nothing is silently lost.
func (b *Bus) Publish(key string, v merge.Version) {
	b.enqueue(pubItem{op: wire.OpInvalidate, key: key, version: v})
}

// PublishPrefix announces that keys starting with prefix changed.
func (b *Bus) PublishPrefix(prefix string) {
	b.enqueue(pubItem{op: wire.OpInvalidatePrefix, key: prefix})
}

// PublishFlush asks every node to drop its whole cache.
func (b *Bus) PublishFlush() { b.enqueue(pubItem{op: wire.OpFlush}) }

func (b *Bus) enqueue(it pubItem) {
	if b.closed.Load() {
		return
	}
	select {
	case b.queue <- it:
	default:
		b.stats.overflows.Add(1)
		b.overflow.Store(true)
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// PublishStrong broadcasts that key was written at version v and waits
// until every peer of the current view has acked "applied version ≥ v" or
// provably lost its coherence lease, and at least quorum distinct peers
// (never this node) acked. It returns the number of peers that acked. Too
// few live peers, or not enough in time (ctx's deadline, or
// Config.StrongTimeout if earlier), return an error wrapping [ErrQuorum];
// the write is broadcast either way.
func (b *Bus) PublishStrong(ctx context.Context, key string, v merge.Version, quorum int) (int, error) {
	if b.closed.Load() {
		return 0, fmt.Errorf("%w: strong publish", ErrClosed)
	}
	if len(key) > wire.MaxKeyLen {
		return 0, fmt.Errorf("%w: key of %d bytes", ErrInvalid, len(key))
	}
	now := b.cfg.Now()
	deadline := now.Add(b.cfg.StrongTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	req := strongReq{
		id: b.nextID.Add(1), key: key, version: v, quorum: max(quorum, 0),
		deadline: deadline, reply: make(chan strongResult, 1),
	}
	b.root.Send(b.pid, req)
	// The actor answers at the deadline; this timer, on real time, is a
	// backstop one tick later, for a context deadline or a stuck clock.
	timer := time.NewTimer(deadline.Sub(now) + 2*b.cfg.tick())
	defer timer.Stop()
	var cause error
	select {
	case r := <-req.reply:
		return r.acked, r.err
	case <-ctx.Done():
		cause = ctx.Err()
	case <-timer.C:
		cause = context.DeadlineExceeded
	case <-b.stopped:
		return 0, fmt.Errorf("%w: strong publish", ErrClosed)
	}
	b.root.Send(b.pid, strongCancel{id: req.id, cause: cause})
	select {
	case r := <-req.reply:
		return r.acked, r.err
	case <-b.stopped:
		return 0, fmt.Errorf("%w: strong publish: %w", ErrClosed, cause)
	}
}

// LeaseValid reports whether this node holds its coherence lease: it
// heard every peer of its view recently enough, has no unrepaired gap and
// is connected. While false, strong keys must not be served from L1. It
// costs an atomic load and a clock read.
func (b *Bus) LeaseValid() bool {
	d := b.lease.Load()
	if d <= 0 {
		return false
	}
	if b.monotonic {
		return int64(time.Since(b.base)) < d // monotonic clock only: no wall-clock read
	}
	return int64(b.cfg.Now().Sub(b.base)) < d
}

// Members returns the ids of the peers in this node's view, sorted; this
// node is not among them.
func (b *Bus) Members() []string { return append([]string(nil), *b.members.Load()...) }

// Errors returns the channel of asynchronous failures (sends that failed,
// Applier errors). Errors nobody reads are counted in Stats.ErrorsDropped
// and dropped; the channel is closed by Close.
func (b *Bus) Errors() <-chan error { return b.errs }

// Stats returns a snapshot of the counters.
func (b *Bus) Stats() Stats { return b.stats.snapshot() }

// Epoch returns this node's epoch, new for every Bus.
func (b *Bus) Epoch() uint64 { return b.epoch }

// Close broadcasts Leave, fails pending strong publishes with ErrClosed,
// stops the actor and its goroutines, closes the transport, and waits for
// all of it. Publishes still queued are dropped (peers that miss them
// repair through their heartbeat window). Close is idempotent.
func (b *Bus) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stop)
		b.wg.Wait()
		done := make(chan struct{})
		b.root.Send(b.pid, leave{done: done})
		<-done
		err = b.cfg.Transport.Close()
		b.cancel()
		_ = b.root.PoisonFuture(b.pid).Wait()
		close(b.stopped)
		close(b.errs)
	})
	return err
}

// report forwards err to Errors without blocking.
func (b *Bus) report(err error) {
	b.cfg.Logger.Debug("bus: "+err.Error(), "node", b.cfg.NodeID)
	if b.closed.Load() {
		return
	}
	select {
	case b.errs <- err:
	default:
		b.stats.errorsDropped.Add(1)
	}
}

// receive is the transport handler: it decodes, drops this node's own
// messages and hands the rest to the actor.
func (b *Bus) receive(msg []byte) {
	envs, err := wire.Decode(msg)
	if err != nil {
		b.stats.malformed.Add(1)
		b.cfg.Logger.Debug("bus: dropped message", "err", err, "node", b.cfg.NodeID)
		return
	}
	if envs[0].Origin == b.cfg.NodeID {
		if envs[0].Epoch != b.epoch {
			b.report(fmt.Errorf("%w: another process uses node id %q", ErrInvalid, b.cfg.NodeID))
		}
		return
	}
	b.root.Send(b.pid, inbound{envs: envs})
}

func (b *Bus) state(s State) { b.root.Send(b.pid, stateChange{state: s}) }

// sync returns once the actor has processed every message sent before.
func (b *Bus) sync() {
	done := make(chan struct{})
	b.root.Send(b.pid, barrier{done: done})
	select {
	case <-done:
	case <-b.stopped:
	}
}
