package bus

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

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
	epoch  atomic.Uint64 // the actor's current epoch, for the transport handler
	root   *actor.RootContext
	pid    *actor.PID
	ctx    context.Context // canceled by Close; bounds Applier calls
	cancel context.CancelFunc

	queue    chan pubItem  // asynchronous publishes, drained by pump
	overflow atomic.Bool   // a publish found queue full: send a flush
	inbound  atomic.Int64  // received bytes waiting for the actor
	overrun  atomic.Bool   // a received message was dropped: flush
	kick     chan struct{} // wakes pump after an overflow
	credits  chan struct{} // bounds batches in the actor's mailbox

	base      time.Time    // origin of lease
	monotonic bool         // cfg.Now is time.Now: LeaseValid may use time.Since
	lease     atomic.Int64 // lease deadline in ns since base; 0 = no lease
	// leaseEnded is when the last lease ended (ns since base), set before
	// lease drops to 0: the deadline, or the moment it was given up if
	// that came first.
	leaseEnded atomic.Int64
	members    atomic.Pointer[[]string]
	memberReqs chan memberReq // actor → membership goroutine
	renewOK    atomic.Bool    // the actor's mayRenew, for the membership goroutine
	self       atomic.Pointer[selfMember]
	lastRenew  atomic.Int64 // when the last renewal was sent, ns since base
	stats      counters
	keyring    *wire.Keyring // nil: messages are not sealed
	errs       chan error
	nextID     atomic.Uint64

	closed    atomic.Bool
	stop      chan struct{} // closed by Close: stops pump and ticker
	stopped   chan struct{} // closed once the actor has stopped
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// epochs makes epochs unique in a process even when the clock does not
// move between two New calls.
var epochs atomic.Uint64

// New starts the bus actor for cfg on system and joins the cluster: with a
// Membership, New joins it first (bounded by JoinTimeout) and takes the
// epoch it assigns; the node holds no lease until its first renewal.
// Close the Bus to leave; it owns cfg.Transport, which it closes itself if
// New fails.
func New(system *actor.ActorSystem, cfg Config) (b *Bus, err error) {
	defer func() {
		if err != nil && cfg.Transport != nil {
			_ = cfg.Transport.Close()
		}
	}()
	monotonic := cfg.Now == nil
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if system == nil {
		return nil, fmt.Errorf("%w: nil actor system", ErrInvalid)
	}
	b = &Bus{
		cfg: cfg, root: system.Root, base: cfg.Now(), monotonic: monotonic,
		queue: make(chan pubItem, cfg.QueueSize), kick: make(chan struct{}, 1),
		credits: make(chan struct{}, 2), errs: make(chan error, 64),
		memberReqs: make(chan memberReq, 16),
		stop:       make(chan struct{}), stopped: make(chan struct{}),
	}
	if len(cfg.Keys) > 0 {
		kr, err := wire.NewKeyring(cfg.Cluster, cfg.Keys...)
		if err != nil {
			return nil, fmt.Errorf("%w: cluster keys: %w", ErrInvalid, err)
		}
		b.keyring = kr
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.members.Store(new([]string))
	epoch, err := b.join()
	if err != nil {
		b.cancel()
		return nil, err
	}
	b.epoch.Store(epoch)
	b.renewOK.Store(true)
	a := newBusActor(b, epoch)
	// The inline dispatcher runs the mailbox on the goroutine that finds it
	// idle (a transport callback, a publisher, the ticker): no goroutine per
	// mailbox run, which costs several microseconds on every hop of a
	// strong write. The actor never waits on anything that waits on it.
	b.pid = b.root.Spawn(actor.PropsFromProducer(func() actor.Actor { return a },
		actor.WithDispatcher(actor.NewSynchronizedDispatcher(300)), actor.WithMailbox(mailbox.New())))
	if err = cfg.Transport.Open(cfg.Cluster, cfg.NodeID, HandlerFuncs{Message: b.receive, State: b.state}); err != nil {
		b.root.Stop(b.pid)
		b.leaveMembership()
		b.cancel()
		return nil, err
	}
	b.wg.Add(1)
	go b.pump()
	if !cfg.manualTick {
		b.wg.Add(1)
		go b.ticker()
	}
	if cfg.Membership != nil {
		b.renew() // the first renewal tells the members at once
		if !cfg.manualTick {
			b.wg.Add(1)
			go b.membership()
		}
	}
	return b, nil
}

// join joins the Membership, if any, and returns the epoch to use.
func (b *Bus) join() (uint64, error) {
	epoch := newEpoch(time.Now())
	if b.cfg.Membership == nil {
		return cmp.Or(b.cfg.epoch, epoch), nil
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.JoinTimeout)
	defer cancel()
	got, err := b.cfg.Membership.Join(ctx, b.cfg.NodeID, epoch)
	if err != nil {
		return 0, fmt.Errorf("%w: join the cluster's membership: %w", ErrTransport, err)
	}
	if got == 0 {
		return 0, fmt.Errorf("%w: join: the membership assigned epoch 0", ErrInvalid)
	}
	return got, nil
}

// leaveMembership removes this node's record, bounded by MemberLease.
func (b *Bus) leaveMembership() {
	if b.cfg.Membership == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.MemberLease)
	defer cancel()
	if err := b.cfg.Membership.Leave(ctx, b.cfg.NodeID, b.epoch.Load()); err != nil {
		b.cfg.Logger.Warn("bus: leave the membership (others will expel this node)", "err", err, "node", b.cfg.NodeID)
	}
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
// broadcasts a flush instead, so nothing is silently lost. So does a
// publish that cannot be sent (a key over wire.MaxKeyLen, a version over
// merge.MaxVersion), which is also reported on Errors as ErrInvalid.
func (b *Bus) Publish(key string, v merge.Version) {
	b.enqueue(pubItem{op: wire.OpInvalidate, key: key, version: v})
}

// PublishPrefix announces that keys starting with prefix changed.
func (b *Bus) PublishPrefix(prefix string) {
	b.enqueue(pubItem{op: wire.OpInvalidatePrefix, key: prefix})
}

// PublishRelease announces that the fence token of a write of key is
// released: nodes may cache key again. It never blocks, as Publish.
func (b *Bus) PublishRelease(key string, token merge.Version) {
	b.enqueue(pubItem{op: wire.OpInvalidate, key: key, version: token, release: true})
}

// Resign gives up this node's membership record under epoch, the epoch a
// write was guarded by, if that is still its epoch: for a write whose
// outcome the store left open (the writer gave up waiting; the store may
// apply it later). At once the node stops being a member: it holds no
// lease, answers no heartbeat as a member (so no peer holds a lease that
// depends on it) and renews nothing. The Membership then removes the
// record (Leave, asked again at every tick until it is done), which it
// does only once every write the record guarded has ended, and every
// later one is refused: the write is settled. The node then rejoins under
// a new epoch, through the repair that follows an expulsion. Without a
// Membership, Resign does nothing. It never blocks.
func (b *Bus) Resign(epoch uint64) {
	if b.cfg.Membership == nil || b.closed.Load() {
		return
	}
	b.root.Send(b.pid, resign{epoch: epoch})
}

// PublishFlush asks every node to drop its whole cache.
func (b *Bus) PublishFlush() { b.enqueue(pubItem{op: wire.OpFlush}) }

func (b *Bus) enqueue(it pubItem) {
	if b.closed.Load() {
		return
	}
	if len(it.key) > wire.MaxKeyLen || !it.version.Valid() {
		// It cannot be encoded, and would void the batch it joins: a
		// flush broadcast covers it instead, never a silent drop.
		b.report(fmt.Errorf("%w: publish of a %d-byte key at version %d: broadcasting a flush instead", ErrInvalid, len(it.key), it.version))
		it = pubItem{op: wire.OpFlush}
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

// PublishStrong broadcasts that key was written at version v (0: an
// invalidation with no version) and waits until every member of the view
// has acked "applied version ≥ v" or provably stopped serving, and at
// least quorum distinct peers (never this node) acked. It returns the
// number of peers that acked. This node must itself be a member. Too few
// live peers, not a member, or not enough acks in time (ctx's deadline, or
// Config.StrongTimeout if earlier) return an error wrapping [ErrQuorum];
// the envelope is broadcast either way, unless this node is not a member.
// Once ctx ends, it returns within two ticks (HeartbeatInterval/2), even
// while the bus actor is held up.
func (b *Bus) PublishStrong(ctx context.Context, key string, v merge.Version, quorum int) (int, error) {
	return b.publishStrong(ctx, key, v, false, quorum)
}

// PublishFence is PublishStrong for a fence token: every node that applies
// it stops caching key until the token is released ([Bus.PublishRelease])
// or its fence expires, then acks.
func (b *Bus) PublishFence(ctx context.Context, key string, token merge.Version, quorum int) (int, error) {
	return b.publishStrong(ctx, key, token, true, quorum)
}

func (b *Bus) publishStrong(ctx context.Context, key string, v merge.Version, fence bool, quorum int) (int, error) {
	if b.closed.Load() {
		return 0, fmt.Errorf("%w: strong publish", ErrClosed)
	}
	if len(key) > wire.MaxKeyLen || !v.Valid() {
		return 0, fmt.Errorf("%w: key of %d bytes or version %d above %d", ErrInvalid, len(key), v, merge.MaxVersion)
	}
	now := b.cfg.Now()
	deadline := now.Add(b.cfg.StrongTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	req := strongReq{
		id: b.nextID.Add(1), key: key, version: v, fence: fence, quorum: max(quorum, 0),
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
	// The actor answers the cancel at once unless it is held up (a
	// transport call in progress, say); the caller stopped waiting, so
	// it is not kept waiting for that beyond two ticks.
	timer.Reset(2 * b.cfg.tick())
	select {
	case r := <-req.reply:
		return r.acked, r.err
	case <-timer.C:
		return 0, fmt.Errorf("%w: strong publish: caller gave up, and the bus did not take the cancel within %v: %w", ErrQuorum, 2*b.cfg.tick(), cause)
	case <-b.stopped:
		return 0, fmt.Errorf("%w: strong publish: %w", ErrClosed, cause)
	}
}

// LeaseValid reports whether this node holds its coherence lease: it is a
// member, heard every member of its view recently enough and holds all they
// sent then, has no unrepaired gap and is connected. While false, strong
// keys must not be served from L1. It costs an atomic load and a clock
// read; a caller that has read the clock already uses [Bus.LeaseUntil].
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

// LeaseUntil returns when this node's lease ends, in nanoseconds since
// [Bus.Base] on the bus's clock: 0 for no lease, math.MaxInt64 for one
// without end (a bus without a Membership and without peers). One atomic
// load: a reader compares it with its own reading of the clock.
func (b *Bus) LeaseUntil() int64 { return b.lease.Load() }

// LastLease returns [Bus.LeaseUntil] while this node holds a lease (its
// deadline may have passed), and otherwise when its last lease ended: its
// deadline, or the moment the bus gave it up if that came first (a
// disconnect, a gap); 0 if it never held one. Same clock and origin as
// LeaseUntil. Invalidations sent after that moment may not have reached
// this node: a cached copy is at most that old, plus the bus's staleness
// bound.
func (b *Bus) LastLease() int64 {
	if d := b.lease.Load(); d > 0 {
		return d
	}
	return b.leaseEnded.Load()
}

// Base returns the origin of [Bus.LeaseUntil]: the bus clock's reading
// when New ran.
func (b *Bus) Base() time.Time { return b.base }

// Member returns this node's current epoch, under which it is a member of
// the cluster, and whether its own membership lease holds now (always true
// without a Membership). A write guarded by the membership (store.Guard)
// names this epoch.
//
// It costs two atomic loads and a clock read.
func (b *Bus) Member() (epoch uint64, ok bool) {
	if b.cfg.Membership == nil {
		return b.epoch.Load(), true
	}
	m := b.self.Load()
	if m == nil || b.closed.Load() {
		return b.epoch.Load(), false
	}
	if b.monotonic {
		return m.epoch, int64(time.Since(b.base)) < m.until
	}
	return m.epoch, int64(b.cfg.Now().Sub(b.base)) < m.until
}

// selfMember is this node's membership as the actor last published it:
// its epoch and its own membership lease (ns since base).
type selfMember struct {
	epoch uint64
	until int64
}

// NodeID returns this node's id.
func (b *Bus) NodeID() string { return b.cfg.NodeID }

// Members returns the ids of the members of this node's view, sorted;
// this node is not among them.
func (b *Bus) Members() []string { return append([]string(nil), *b.members.Load()...) }

// Errors returns the channel of asynchronous failures (sends that failed,
// Applier errors). Errors nobody reads are counted in Stats.ErrorsDropped
// and dropped; the channel is closed by Close.
func (b *Bus) Errors() <-chan error { return b.errs }

// Stats returns a snapshot of the counters.
func (b *Bus) Stats() Stats { return b.stats.snapshot() }

// Epoch returns this node's epoch: new for every Bus, and again whenever
// the node rejoins the membership after losing it.
func (b *Bus) Epoch() uint64 { return b.epoch.Load() }

// Close broadcasts Leave, fails pending strong publishes with ErrClosed,
// ends the membership and Applier calls in flight, stops the actor and its
// goroutines, closes the transport, removes this node's membership record
// (waiting at most MemberLease for the store), and waits for all of it.
// Publishes still queued are dropped (peers that miss them repair through
// their heartbeat window). Close is idempotent.
func (b *Bus) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stop)
		b.cancel() // a membership call or an apply waiting on a hung store ends now
		b.wg.Wait()
		done := make(chan struct{})
		b.root.Send(b.pid, leave{done: done})
		<-done
		err = b.cfg.Transport.Close()
		b.leaveMembership()
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
	envs, err := b.open(msg)
	if err != nil {
		b.stats.malformed.Add(1)
		b.reject(wire.RejectReason(err), "")
		return
	}
	if envs[0].Origin == b.cfg.NodeID {
		// Its own broadcasts come back, under its epoch or, just after a
		// rejoin, an older one; under a newer epoch they are another
		// process's (which sees this one's as newer once it rejoins): a
		// misconfiguration, reported once a minute.
		if e := envs[0].Epoch; e > b.epoch.Load() && b.reject(RejectSelf, envs[0].Origin) {
			b.report(fmt.Errorf("%w: another process uses node id %q (epoch %d); each node needs an id of its own", ErrInvalid, b.cfg.NodeID, e))
		}
		return
	}
	// The actor may be busy on another goroutine (an Applier call), so
	// what waits for it is bounded here, where the transport's own
	// pending limits cannot see it. What waits is the decoded envelopes,
	// which a message of many tiny envelopes makes some 45 times its own
	// size: counted as such.
	n := inboundSize(msg, envs)
	if waiting := b.inbound.Add(n) - n; waiting > 0 && waiting+n > int64(b.cfg.MaxInboundBytes) {
		b.inbound.Add(-n)
		b.overrun.Store(true)
		b.reject(RejectInbound, envs[0].Origin)
		return
	}
	b.root.Send(b.pid, inbound{envs: envs, size: n})
}

// inboundSize is what a received message costs while it waits for the
// actor: its bytes (the keys and origins decoded from it are at most as
// many) and its decoded envelopes.
func inboundSize(msg []byte, envs []wire.Envelope) int64 {
	return int64(len(msg)) + int64(len(envs))*int64(unsafe.Sizeof(wire.Envelope{}))
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

// seal encodes envs as one bus message, appended to dst, sealed under the
// cluster key if there is one (built in place, behind the seal's header).
func (b *Bus) seal(dst []byte, envs []wire.Envelope) ([]byte, error) {
	if b.keyring == nil {
		return wire.Append(dst, envs...)
	}
	n := len(dst)
	body, err := wire.Append(slices.Grow(dst, wire.SealHeaderLen)[:n+wire.SealHeaderLen], envs...)
	if err != nil {
		return dst, err
	}
	return b.keyring.Seal(body[:n], body[n+wire.SealHeaderLen:]), nil
}

// open checks a bus message's seal, if the cluster has a key, before
// decoding anything in it.
func (b *Bus) open(msg []byte) ([]wire.Envelope, error) {
	if b.keyring != nil {
		body, err := b.keyring.Open(msg)
		if err != nil {
			return nil, err
		}
		msg = body
	}
	return wire.Decode(msg)
}
