package api

import (
	"context"
	"errors"
	"time"

	"github.com/warpcache/warp/bus"
)

// Recorder receives Warp's measurements; the Prometheus adapter is
// [github.com/warpcache/warp/api/prommetrics]. Implementations must be safe
// for concurrent use and cheap: Read runs on every cache hit.
type Recorder interface {
	// Attach is called once, by New, before the instance serves any call:
	// gauges and the bus's counters are read from src when scraped.
	Attach(src Source) error
	// Read counts one read served from L1 (hit) or not.
	Read(hit bool)
	// Op records an operation that reached a shard or the store (L1 hits
	// are only counted by Read: timing them would cost more than the hit).
	Op(op string, mode Mode, result string, d time.Duration)
	// ApplyLag records how old a remote write was when this node applied
	// its invalidation, from the write's hybrid-logical-clock timestamp:
	// millisecond resolution, and it includes clock skew between nodes.
	ApplyLag(d time.Duration)
}

// Detacher is what a Recorder implements to undo its Attach (unregister
// what it registered, let go of the Source): Close calls Detach once the
// instance has stopped, and New when it fails after Attach, so a new
// instance can attach a recorder of the same names.
type Detacher interface {
	Detach()
}

// Source is what a Recorder may read at scrape time.
type Source interface {
	NodeID() string
	CacheStats() CacheStats
	// BusStats returns the bus's counters, and false without a bus.
	BusStats() (bus.Stats, bool)
	// Peers returns the number of peers in the membership view.
	Peers() int
	LeaseValid() bool
	// Coordination returns the counters of leases, locks and validators.
	Coordination() CoordinationStats
}

// CoordinationStats counts leases, locks and validator drift on this
// instance.
type CoordinationStats struct {
	LeasesGranted, LeasesRevoked, LeaseKeysDropped uint64
	LocksAcquired, LocksContended                  uint64
	Validator                                      ValidatorStats
}

// WithRecorder sends the instance's measurements to r.
func WithRecorder[T any](r Recorder) Option[T] {
	return func(o *options[T]) error { o.rec = r; return nil }
}

// source adapts a Warp to Source.
type source[T any] struct{ w *Warp[T] }

func (s source[T]) NodeID() string         { return s.w.node.ID() }
func (s source[T]) CacheStats() CacheStats { return s.w.Stats() }
func (s source[T]) LeaseValid() bool       { return s.w.leaseValid() }

func (s source[T]) BusStats() (bus.Stats, bool) {
	if s.w.bus == nil {
		return bus.Stats{}, false
	}
	return s.w.bus.Stats(), true
}

func (s source[T]) Coordination() CoordinationStats { return s.w.coordinationStats() }

func (s source[T]) Peers() int {
	if s.w.bus == nil {
		return 0
	}
	return len(s.w.bus.Members())
}

// Results of an operation, as recorded.
const (
	ResultOK           = "ok"
	ResultNotFound     = "not_found"
	ResultUnregistered = "unregistered"
	ResultInvalid      = "invalid"
	ResultQuorum       = "quorum"
	ResultClosed       = "closed"
	ResultCanceled     = "canceled"
	ResultError        = "error"
)

// resultOf classifies err for the recorder.
func resultOf(err error) string {
	switch {
	case err == nil:
		return ResultOK
	case errors.Is(err, ErrNotFound):
		return ResultNotFound
	case errors.Is(err, ErrUnregistered):
		return ResultUnregistered
	case errors.Is(err, ErrQuorum):
		return ResultQuorum
	case errors.Is(err, ErrClosed):
		return ResultClosed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ResultCanceled
	case errors.Is(err, ErrInvalidKey), errors.Is(err, ErrTooLarge):
		return ResultInvalid
	}
	return ResultError
}

// record records an operation that started at start, if a recorder is set.
func (w *Warp[T]) record(op string, key string, start time.Time, err error) {
	if w.rec == nil {
		return
	}
	mode := ModeEventualDistributed
	if r, _, lerr := w.lookup(key); lerr == nil {
		mode = r.mode
	}
	w.rec.Op(op, mode, resultOf(err), time.Since(start))
}

// started returns the time an operation starts, when a recorder wants it.
func (w *Warp[T]) started() time.Time {
	if w.rec == nil {
		return time.Time{}
	}
	return time.Now()
}
