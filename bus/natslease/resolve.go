package natslease

import (
	"context"
	"errors"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Bounds of the reads of unknown leases' entries (see resolver).
const (
	maxResolving = 1024 // leases queued or being read
	maxReads     = 4    // reads in flight
)

// resolution is the outcome of one read of an unknown lease's entry.
type resolution struct {
	id   string
	gone bool  // the entry is not in the bucket
	err  error // the read failed
}

// resolver reads the entries of the leases that attachments name but the
// watcher does not know, off the watcher goroutine: each read can take
// readTimeout, and a flood of forged attachments must not hold up the
// entries behind them. At most maxReads reads run at once and
// maxResolving leases wait or run; past that, add refuses. Only the
// watcher goroutine calls its methods; the outcomes come back on out, for
// the watcher to apply.
type resolver struct {
	read    func(ctx context.Context, id string) (gone bool, err error)
	ctx     context.Context // ends the reads: stop, or Close
	cancel  context.CancelFunc
	pending map[string]struct{} // leases queued or being read
	queue   []string            // leases waiting for a read, oldest first
	reads   int                 // reads in flight
	missed  bool                // add refused a lease since the resolver was last idle (set by the watcher)
	out     chan resolution
	quit    chan struct{} // closed by stop: a read's outcome is no longer wanted
	wg      sync.WaitGroup
}

// newResolver returns a resolver whose reads end with parent.
func newResolver(parent context.Context, read func(ctx context.Context, id string) (bool, error)) *resolver {
	ctx, cancel := context.WithCancel(parent)
	return &resolver{read: read, ctx: ctx, cancel: cancel, pending: map[string]struct{}{},
		out: make(chan resolution), quit: make(chan struct{})}
}

// add queues a read of id's entry, unless one is pending. It reports false
// if maxResolving leases are pending already.
func (r *resolver) add(id string) bool {
	if _, ok := r.pending[id]; ok {
		return true
	}
	if len(r.pending) >= maxResolving {
		return false
	}
	r.pending[id] = struct{}{}
	r.queue = append(r.queue, id)
	r.start()
	return true
}

// done records that the outcome of id's read was received.
func (r *resolver) done(id string) {
	delete(r.pending, id)
	r.reads--
	r.start()
}

// idle reports whether no lease is pending.
func (r *resolver) idle() bool { return len(r.pending) == 0 }

// start starts queued reads, up to maxReads in flight.
func (r *resolver) start() {
	for r.reads < maxReads && len(r.queue) > 0 {
		id := r.queue[0]
		r.queue[0] = ""
		r.queue = r.queue[1:]
		r.reads++
		r.wg.Add(1)
		go r.resolve(id)
	}
}

// resolve reads id's entry and hands the outcome to the watcher.
func (r *resolver) resolve(id string) {
	defer r.wg.Done()
	gone, err := r.read(r.ctx, id)
	select {
	case r.out <- resolution{id: id, gone: gone, err: err}:
	case <-r.quit:
	}
}

// stop ends the reads in flight and waits for them.
func (r *resolver) stop() {
	r.cancel()
	close(r.quit)
	r.wg.Wait()
}

// readLease reports whether lease id's entry is gone from the bucket; the
// read is bounded by readTimeout.
func (l *Leases) readLease(ctx context.Context, id string) (gone bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	if h := l.resolveHook.Load(); h != nil {
		(*h)(ctx, id)
	}
	_, err = l.kv.Get(ctx, leaseKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return true, nil
	}
	return false, err
}
