package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/messages/wire"
)

// busActor owns the bus's state: sequence numbers, the retransmit ring,
// what it knows of each peer and member, pending strong writes and the
// lease. Its fields are touched only inside Receive, except through the
// shared pointers to Bus (atomics and channels).
type busActor struct {
	b        *Bus
	cfg      Config
	anchored bool   // cfg.Membership is set
	epoch    uint64 // this node's epoch; a.b.epoch mirrors it
	seq      uint64 // last Seq broadcast
	ring     *ring
	peers    map[string]*peer // by node id: the newest epoch heard

	// Membership (anchored).
	memberUntil time.Time               // this node's own membership lease
	members     map[string]*memberState // the latest renewal's, this node excluded
	leftOut     map[string]streamPos    // members the latest renewal listed that MaxPeers left out, by how far their stream was seen
	ghosts      map[memberKey]*ghost    // departed members not yet provably gone
	rejoining   bool
	resigning   bool      // giving up the record under epoch (Bus.Resign)
	resignAsked bool      // its Leave is with the membership goroutine
	joinedAt    time.Time // when this node (re)joined, on its clock

	hbNum    uint64               // last heartbeat number sent
	hbSent   map[uint64]time.Time // heartbeat number → send time, recent ones only
	lastHB   time.Time
	startup  time.Time                // peers met before this are followed from the first seq seen
	down     bool                     // transport disconnected
	repair   bool                     // a flush is due before the lease may be valid again
	joined   bool                     // the first flush, on joining, is done
	pending  map[uint64]*pendingWrite // by request id
	bySeq    map[uint64]uint64        // Seq of a strong envelope → request id
	leaving  bool
	encodeTo []byte
	limits   limiter

	applyCtx    context.Context // see applyContext
	applyCancel context.CancelFunc
	applyRenew  time.Time
}

func newBusActor(b *Bus, epoch uint64) *busActor {
	now := b.cfg.Now()
	a := &busActor{
		b: b, cfg: b.cfg, anchored: b.cfg.Membership != nil, ring: newRing(b.cfg.RingSize),
		peers: make(map[string]*peer), hbSent: make(map[uint64]time.Time),
		members: make(map[string]*memberState), leftOut: make(map[string]streamPos), ghosts: make(map[memberKey]*ghost),
		startup: now.Add(2 * b.cfg.HeartbeatInterval),
		pending: make(map[uint64]*pendingWrite), bySeq: make(map[uint64]uint64),
		// The cache is empty, but a write that started before this node
		// joined may still land: the first lease begins with a flush,
		// which starts the strong keys' grace period.
		repair: true,
		limits: newLimiter(b.cfg),
	}
	// Heartbeat numbers start at the epoch, so an answer to a heartbeat
	// of an earlier process of this node id never matches.
	a.setEpoch(epoch)
	a.joinedAt = now
	return a
}

// Receive implements actor.Actor. A panic in a step is recovered into an
// error report, so the actor's state survives it.
func (a *busActor) Receive(ctx actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			a.b.report(fmt.Errorf("bus: actor panic on %T: %v", ctx.Message(), r))
		}
	}()
	if a.b.overrun.Swap(false) {
		a.repairBecause("received messages dropped: MaxInboundBytes were waiting for the bus actor")
	}
	switch m := ctx.Message().(type) {
	case publishBatch:
		<-a.b.credits
		a.publish(m.items)
	case inbound:
		a.b.inbound.Add(-m.size)
		for i := range m.envs {
			a.handle(&m.envs[i])
		}
	case strongReq:
		a.startStrong(m)
	case strongCancel:
		a.cancelStrong(m)
	case tick:
		a.tick()
	case stateChange:
		a.stateChanged(m.state)
	case renewed:
		a.onRenewed(m)
	case rejoined:
		a.onRejoined(m)
	case resign:
		a.onResign(m.epoch)
	case resigned:
		a.onResigned(m)
	case expelled:
		a.onExpelled(m)
	case leave:
		a.leave()
		close(m.done)
	case barrier:
		close(m.done)
	case inspect:
		m.fn(a)
	}
	a.refreshLease()
}

// now reads the injected clock.
func (a *busActor) now() time.Time { return a.cfg.Now() }

// envelope returns an envelope from this node with the given op.
func (a *busActor) envelope(op wire.Op) wire.Envelope {
	return wire.Envelope{Origin: a.cfg.NodeID, Epoch: a.epoch, Op: op}
}

// broadcast encodes envs, in messages of at most MaxBatch envelopes and
// about MaxBatchBytes, and broadcasts them.
func (a *busActor) broadcast(envs []wire.Envelope) {
	a.transmit(envs, a.cfg.Transport.Broadcast)
}

// sendTo sends envs to one node's inbox.
func (a *busActor) sendTo(node string, envs ...wire.Envelope) {
	a.transmit(envs, func(msg []byte) error { return a.cfg.Transport.Send(node, msg) })
}

func (a *busActor) transmit(envs []wire.Envelope, send func([]byte) error) {
	for len(envs) > 0 {
		n, size := 0, 0
		for n < len(envs) && n < a.cfg.MaxBatch && (n == 0 || size < a.cfg.MaxBatchBytes) {
			size += len(envs[n].Key) + 32
			n++
		}
		msg, err := a.b.seal(a.encodeTo[:0], envs[:n])
		if err == nil {
			a.encodeTo = msg
			err = send(msg)
		}
		if err != nil {
			a.b.report(fmt.Errorf("%w: send %d envelopes: %w", ErrTransport, n, err))
		}
		envs = envs[n:]
	}
}

// publish assigns sequence numbers to queued publishes and broadcasts them.
func (a *busActor) publish(items []pubItem) {
	envs := make([]wire.Envelope, len(items))
	for i, it := range items {
		a.seq++
		e := a.envelope(it.op)
		e.Seq, e.Key, e.Version, e.Release = a.seq, it.key, it.version, it.release
		a.ring.put(e)
		envs[i] = e
	}
	a.broadcast(envs)
	a.b.stats.published.Add(uint64(len(envs))) // once the transport has them
}

// applyContext returns a context that ends between ApplyTimeout/2 and
// ApplyTimeout from now (or when the bus closes). One context serves the
// calls of half a timeout: a timer per applied envelope cost a third of
// applying it.
func (a *busActor) applyContext() context.Context {
	now := time.Now()
	if a.applyCtx == nil || now.After(a.applyRenew) {
		if a.applyCancel != nil {
			a.applyCancel() // no call uses it: calls run one at a time, in the actor
		}
		a.applyCtx, a.applyCancel = context.WithTimeout(a.b.ctx, a.cfg.ApplyTimeout)
		a.applyRenew = now.Add(a.cfg.ApplyTimeout / 2)
	}
	return a.applyCtx
}

// apply runs fn against the Applier with a timeout, turning a panic into
// an error; a failure schedules a repair flush.
func (a *busActor) apply(what string, fn func(ctx context.Context) error) (err error) {
	ctx := a.applyContext()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		if err != nil {
			err = fmt.Errorf("%w: %s: %w", ErrApply, what, err)
			a.b.report(err)
			a.repair = true
		}
	}()
	return fn(ctx)
}

// repairBecause schedules a repair flush, logging why.
func (a *busActor) repairBecause(why string) {
	if !a.repair {
		a.cfg.Logger.Info("bus: repair flush due: "+why, "node", a.cfg.NodeID)
	}
	a.repair = true
}
