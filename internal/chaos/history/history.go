package history

import (
	"sync"
	"time"
)

// Kind is an operation's kind.
type Kind uint8

// The kinds.
const (
	// Read is a Get of one key.
	Read Kind = iota
	// Write is a Set of one key.
	Write
	// Txn is a transaction setting several keys.
	Txn
)

func (k Kind) String() string {
	switch k {
	case Read:
		return "read"
	case Write:
		return "write"
	case Txn:
		return "txn"
	}
	return "?"
}

// Status is how an operation ended.
type Status uint8

// The statuses.
const (
	// OK: the operation succeeded; a read returned Values[0].
	OK Status = iota
	// NotFound: a read found no value.
	NotFound
	// Failed: a write failed with api.ErrQuorum and must have changed
	// nothing.
	Failed
	// Unknown: no answer, or another error; a write may have happened.
	Unknown
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case NotFound:
		return "not-found"
	case Failed:
		return "quorum"
	case Unknown:
		return "unknown"
	}
	return "?"
}

// Op is one operation of a history.
type Op struct {
	// Client is the client's index; Node the node it called.
	Client int
	Node   string
	Kind   Kind
	// Keys are the keys read or written; Values, index for index, the
	// values written or (for a read) returned.
	Keys   []string
	Values []string
	// Call and Return are nanoseconds since the history's start, on the
	// controller's monotonic clock.
	Call, Return int64
	Status       Status
	// Err is the node's or the transport's error text.
	Err string
}

// Writes reports whether op writes.
func (op Op) Writes() bool { return op.Kind != Read }

// Recorder collects a history. It is safe for concurrent use.
type Recorder struct {
	start time.Time
	mu    sync.Mutex // guards ops
	ops   []Op
}

// NewRecorder starts a history now.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// Now returns the nanoseconds since the history started (monotonic).
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

// Add records op.
func (r *Recorder) Add(op Op) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// Ops returns a copy of the operations recorded so far.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// MarshalText writes the kind's name, for JSON histories.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalText writes the status's name, for JSON histories.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
