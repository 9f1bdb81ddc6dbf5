package api

import (
	"cmp"
	"context"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sync/singleflight"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api/codec"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/internal/pattern"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
)

// flagCounted marks entries of keys with a dynamic TTL, whose reads are
// counted.
const flagCounted uint8 = 1 << 7

// Warp is a coherent cache of values of type T in front of a store. It is
// safe for concurrent use. Build one with [New]; Close it when done.
type Warp[T any] struct {
	store    store.Store[T]
	codec    codec.Codec[T]
	engine   *merge.Engine[T]
	node     *actors.Node
	router   *actors.Router
	ownsNode bool
	maxValue int

	regMu sync.Mutex // serializes registration changes
	table atomic.Pointer[table]

	loads singleflight.Group
	// loadCtx is the base of the contexts of the shared loads that run on
	// goroutines of their own (detached from any one caller); stopLoads
	// ends it on Close, and sharedLoads counts them, for Close to wait.
	loadCtx     context.Context
	stopLoads   context.CancelFunc
	sharedLoads sync.WaitGroup
	// loadsInFlight counts the shared loads per key (maxLoadsPerKey).
	loadsInFlight loadCounts
	pools         *writePools
	// strongWrites counts the store writes of strong writes whose callers
	// may give up first (setStrong).
	strongWrites sync.WaitGroup
	stats        keyStats

	bus      *bus.Bus
	busDone  chan struct{}
	cluster  string
	anchored bool // the bus's membership is anchored (strong keys allowed)
	// leaseOffset converts the node clock to the bus's: the bus lease
	// deadline is in ns since the bus's base.
	leaseOffset int64
	// busUp is the bus once bus and leaseOffset are set: the bus may
	// call the applier (its first flush) before New returns.
	busUp    atomic.Pointer[bus.Bus]
	fenceTTL time.Duration
	// graceTTL and strongGrace: after a repair flush, strong keys are not
	// cached until strongGrace (node-clock nanoseconds). writeBound: how
	// long a strong write's store write may end after it started.
	graceTTL    time.Duration
	writeBound  time.Duration
	strongGrace atomic.Int64

	rec Recorder // nil: no measurements
	// onInval is the invalidation listener; nil: none.
	onInval func(Invalidation)

	leases *natslease.Leases
	locks  *natslock.Locker

	coord coordCounters

	validatorsMu   sync.Mutex              // guards validators and validatorStats
	validators     []func()                // stops, called by Close
	validatorStats []func() ValidatorStats // for the metrics
	// beforeValidatorsLock, if set, runs in StartValidator after its first
	// check of closed, before it takes validatorsMu: a test seam for a
	// Close in between.
	beforeValidatorsLock func()

	errs          chan error
	errsMu        sync.RWMutex // orders report's sends before Close closes errs
	errsClosed    bool
	droppedErrors atomic.Uint64

	closed    atomic.Bool
	closeOnce sync.Once
}

// hotBox is a hot-tier entry with its decoded value and, for a short key,
// the key's bytes in the same allocation: a hit reads the entry, the key
// and the value from one or two adjacent cache lines instead of following
// a pointer to each (the value boxed in an interface, the key's bytes
// wherever the caller that promoted it had them). Value points at v.
type hotBox[T any] struct {
	shard.HotEntry
	v  T
	kb [hotKeyBytes]byte
}

// hotKeyBytes is the longest key a hotBox holds inline.
const hotKeyBytes = 32

// newHot returns the shard's NewHot for values decoded by dec.
func newHot[T any](dec func([]byte) (T, error)) func(string, shard.Header, []byte) (*shard.HotEntry, error) {
	return func(key string, hdr shard.Header, val []byte) (*shard.HotEntry, error) {
		v, err := dec(val)
		if err != nil {
			return nil, err
		}
		b := &hotBox[T]{v: v}
		if len(key) <= hotKeyBytes {
			n := copy(b.kb[:], key)
			key = unsafe.String(&b.kb[0], n)
		}
		b.HotEntry = shard.HotEntry{Key: key, Value: &b.v, Header: hdr}
		return &b.HotEntry, nil
	}
}

// sizeHotTier sizes the hot tier for values the codec must decode, unless
// WithHotSlots set it: see WithHotSlots.
func sizeHotTier[T any](rc *actors.RouterConfig, c codec.Codec[T]) {
	switch any(c).(type) {
	case codec.Bytes, codec.String:
		return // decoding is a copy: the default tier does
	}
	if rc.Shard.HotSlots != 0 {
		return
	}
	maxBytes := cmp.Or(rc.Shard.MaxBytes, actors.DefaultMaxBytes)
	rc.HotSlots = max(actors.DefaultHotSlots, 1<<bits.Len(uint(maxBytes>>10)-1))
	rc.HotMaxBytes = maxBytes / 4
}

// writePools recycle what a write hands its shard once the shard has
// answered (bigcache copies the entry; the shard keeps nothing): a Set
// allocates none of it. They are an allocation of their own: the runtime
// keeps a used pool until the second collection after its last Put, and a
// pool embedded in Warp would keep the closed Warp, and its caches, that
// long too (TestClosedWarpIsFreedByOneGC).
type writePools struct {
	scratch sync.Pool // *writeScratch
}

// writeScratch is what a write hands its shard: the entry's buffer, the
// Install message and its reply slot, taken from the pool and put back
// together (one pool operation each way instead of one per piece, about
// 4% of a StrongLocal Set's instructions).
type writeScratch struct {
	buf []byte
	msg messages.Install
	rep *messages.Reply
}

// New returns a Warp instance in front of s. The instance starts its own
// node (actor system and shards) unless WithNode is given. If New fails, it
// releases everything it was given to own and everything it started: the
// WithBus transport (closed, as bus.New closes it), the recorder's
// registrations (a Recorder that implements Detacher), the node, the
// shards and the coordination it started; a retry with the same options
// starts clean.
func New[T any](s store.Store[T], opts ...Option[T]) (_ *Warp[T], err error) {
	o := options[T]{codec: codec.Default[T](), maxValueSize: DefaultMaxValueSize, fenceTTL: defaultFenceTTL}
	var w *Warp[T]
	defer func() {
		if err != nil {
			w.undo(&o) // w is nil if New failed before building it
		}
	}()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if s == nil {
		return nil, fmt.Errorf("%w: nil store", ErrConfig)
	}
	if o.engine == nil {
		o.engine = merge.NewEngine[T]()
	}
	w = &Warp[T]{store: s, codec: o.codec, engine: o.engine, maxValue: o.maxValueSize, fenceTTL: o.fenceTTL, errs: make(chan error, 64), pools: new(writePools)}
	w.loadCtx, w.stopLoads = context.WithCancel(context.Background())
	w.setTimings(bus.Config{}) // a bus started later sets its own
	w.table.Store(&table{t: pattern.NewTable[*registration]()})
	sizeHotTier(&o.router, o.codec)
	w.node, w.ownsNode = o.node, o.node == nil
	if w.ownsNode {
		n, err := actors.NewNode(o.nodeCfg)
		if err != nil {
			w.ownsNode = false // nothing started
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		w.node = n
	}
	o.router.Shard.NewHot = newHot(o.codec.Decode)
	r, err := w.node.NewRouter(o.router)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	w.router = r
	// A value that cannot be cached is refused rather than written and
	// then read from the store on every Get.
	cacheable := r.Shards()[0].MaxEntry() - shard.HeaderSize - MaxKeyLen - 64
	w.maxValue = min(w.maxValue, cacheable)
	w.onInval = o.onInval
	if o.rec != nil {
		w.rec = o.rec
		if err := w.rec.Attach(source[T]{w}); err != nil {
			return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
		}
	}
	if err := w.startCoordination(&o); err != nil {
		return nil, err
	}
	if o.bus != nil {
		if err := w.startBus(*o.bus); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// undo releases what a New that failed was given and had started; w may be
// nil (nothing started yet) or partly built.
func (w *Warp[T]) undo(o *options[T]) {
	if o.bus != nil && o.bus.Transport != nil {
		_ = o.bus.Transport.Close() // idempotent: bus.New may have closed it already
	}
	if w == nil {
		return
	}
	w.stopCoordination()
	if d, ok := w.rec.(Detacher); ok {
		d.Detach()
	}
	if w.router != nil {
		_ = w.router.Close()
	}
	if w.ownsNode && w.node != nil {
		_ = w.node.Close()
	}
	w.stopLoads()
}

// Close stops the instance: calls in flight finish, later calls fail with
// ErrClosed. It ends the shared store loads that run on goroutines of the
// instance (those of misses whose context can end: their callers get
// ErrClosed) and waits for them, for the strong writes' store calls, and
// for the shard actors (and the node, if the instance started it) to stop.
// Then it detaches the recorder (a Recorder that implements Detacher) and
// closes the PublishErrors channel. It is idempotent.
func (w *Warp[T]) Close() error {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		w.stopLoads() // a shared load on a hung store ends now, not at its bound
		w.validatorsMu.Lock()
		stops := w.validators
		w.validatorsMu.Unlock()
		for _, stop := range stops {
			stop()
		}
		w.stopCoordination()
		if w.bus != nil {
			_ = w.bus.Close() // no more remote events; closes Errors
			<-w.busDone
		}
		_ = w.router.Close()
		w.strongWrites.Wait() // each ends by its write bound
		w.sharedLoads.Wait()  // each ended with loadCtx
		if w.ownsNode {
			_ = w.node.Close()
		}
		if d, ok := w.rec.(Detacher); ok {
			d.Detach()
		}
		w.errsMu.Lock()
		w.errsClosed = true
		close(w.errs)
		w.errsMu.Unlock()
	})
	return nil
}

// MaxValueSize returns the largest encoded value the instance accepts: the
// configured limit (WithMaxValueSize, default DefaultMaxValueSize), lowered
// if needed to what one shard's cache can hold (its share of WithMaxBytes
// split over 64 queues, halved).
func (w *Warp[T]) MaxValueSize() int { return w.maxValue }

// PublishErrors returns the channel that asynchronous failures (such as a
// bus publish that failed after Set returned) are sent to. When nobody
// reads it, failures are counted and dropped; they never block a writer.
// Close closes it, so a goroutine ranging over it ends; failures of calls
// still in flight after that are counted and dropped.
func (w *Warp[T]) PublishErrors() <-chan error { return w.errs }

// Node returns the node the instance runs on.
func (w *Warp[T]) Node() *actors.Node { return w.node }

// Stats returns the L1 cache's counters summed over shards.
func (w *Warp[T]) Stats() CacheStats {
	var s CacheStats
	for _, v := range w.router.Shards() {
		st := v.Stats()
		s.Entries += uint64(v.Len())
		s.Bytes += uint64(v.Bytes())
		s.Installs += st.Installs.Load()
		s.Fills += st.Fills.Load()
		s.StaleFills += st.StaleFills.Load()
		s.Invalidations += st.Invalidations.Load()
		s.Expired += st.Expired.Load()
		s.Evicted += st.Evicted.Load()
		s.Restarts += v.Restarts()
	}
	return s
}

// CacheStats are the L1 cache's counters.
type CacheStats struct {
	Entries, Bytes                                               uint64
	Installs, Fills, StaleFills, Invalidations, Expired, Evicted uint64
	Restarts                                                     uint64
}

// check is the common entry check of every call on one key.
func (w *Warp[T]) check(ctx context.Context, key string) error {
	if w.closed.Load() {
		return ErrClosed
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("warp: %q: %w", key, err)
	}
	return nil
}

// checkOpen is check for a call on no single key.
func (w *Warp[T]) checkOpen(ctx context.Context, op string) error {
	if w.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("warp: %s: %w", op, err)
	}
	return nil
}

// request sends msg (which carries rep) to v's actor and waits for the
// answer. The send happens under the shard's gate, so it is queued before
// the actor's stop and answered; the wait happens outside it, so Close
// never waits on a caller. Shard actors do no I/O: answers come in
// microseconds, except a key lock's, which comes when the holder releases
// it or the shard stops.
func (w *Warp[T]) request(v *shard.View, msg any, rep *messages.Reply) (messages.Result, error) {
	if !v.Enter() {
		return messages.Result{}, ErrClosed
	}
	w.router.Send(v, msg)
	v.Leave()
	res := rep.Wait()
	w.router.Replies.Put(rep)
	return res, res.Err
}

// stopCoordination closes leases and locks.
func (w *Warp[T]) stopCoordination() {
	if w.leases != nil {
		_ = w.leases.Close()
	}
	if w.locks != nil {
		_ = w.locks.Close()
	}
}
