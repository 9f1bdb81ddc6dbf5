package control

import (
	"errors"
	"fmt"
	"time"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/bus"
)

// Limits of the control API, checked by the node.
const (
	// MaxTimeout bounds a request's Timeout.
	MaxTimeout = 30 * time.Second
	// MaxBody bounds a request body, in bytes.
	MaxBody = 64 << 10
	// MaxTxnKeys bounds the Sets of one transaction.
	MaxTxnKeys = 16
)

// ErrBadRequest is what a node answers (HTTP 400) to a request it refuses.
var ErrBadRequest = errors.New("control: bad request")

// Outcome classifies how an operation ended on the node.
type Outcome string

// The outcomes.
const (
	// OutcomeOK: the operation succeeded (a Get returned Value).
	OutcomeOK Outcome = "ok"
	// OutcomeNotFound: a Get found the key nowhere.
	OutcomeNotFound Outcome = "not-found"
	// OutcomeQuorum: a Set or Commit failed with api.ErrQuorum.
	OutcomeQuorum Outcome = "quorum"
	// OutcomeError: any other failure; a write's effect is unknown.
	OutcomeError Outcome = "error"
)

// OutcomeOf classifies err, the result of a Warp call.
func OutcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, api.ErrQuorum):
		return OutcomeQuorum
	case errors.Is(err, api.ErrNotFound):
		return OutcomeNotFound
	}
	return OutcomeError
}

// GetRequest reads Key.
type GetRequest struct {
	Key     string        `json:"key"`
	Timeout time.Duration `json:"timeout"`
}

// SetRequest writes Value to Key.
type SetRequest struct {
	Key     string        `json:"key"`
	Value   string        `json:"value"`
	Timeout time.Duration `json:"timeout"`
}

// KV is one write of a transaction.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// TxnRequest commits Sets as one transaction.
type TxnRequest struct {
	Sets    []KV          `json:"sets"`
	Timeout time.Duration `json:"timeout"`
}

// ClockRequest sets the offset the node adds to the wall clock it gives
// Warp.
type ClockRequest struct {
	Offset time.Duration `json:"offset"`
}

// Result is a node's answer to an operation.
type Result struct {
	Outcome Outcome `json:"outcome"`
	// Value is what a Get returned (OutcomeOK only).
	Value string `json:"value,omitempty"`
	// Err is the error's text, for the report.
	Err string `json:"err,omitempty"`
}

// Stats describe a node's view of the cluster.
type Stats struct {
	ID string `json:"id"`
	// Members are the peers in the node's bus view; LeaseValid whether it
	// holds its coherence lease.
	Members    []string       `json:"members"`
	LeaseValid bool           `json:"lease_valid"`
	Bus        bus.Stats      `json:"bus"`
	Cache      api.CacheStats `json:"cache"`
	// ClockOffset is the node's current clock offset.
	ClockOffset time.Duration `json:"clock_offset"`
}

// checkTimeout validates a request's timeout.
func checkTimeout(d time.Duration) error {
	if d <= 0 || d > MaxTimeout {
		return fmt.Errorf("%w: timeout %v not in (0, %v]", ErrBadRequest, d, MaxTimeout)
	}
	return nil
}

// Validate checks r.
func (r GetRequest) Validate() error { return checkTimeout(r.Timeout) }

// Bound returns how long the node may take.
func (r GetRequest) Bound() time.Duration { return r.Timeout }

// Bound returns how long the node may take.
func (r SetRequest) Bound() time.Duration { return r.Timeout }

// Bound returns how long the node may take.
func (r TxnRequest) Bound() time.Duration { return r.Timeout }

// Validate checks r.
func (r SetRequest) Validate() error { return checkTimeout(r.Timeout) }

// Validate checks r.
func (r TxnRequest) Validate() error {
	if len(r.Sets) == 0 || len(r.Sets) > MaxTxnKeys {
		return fmt.Errorf("%w: %d sets, want 1 to %d", ErrBadRequest, len(r.Sets), MaxTxnKeys)
	}
	return checkTimeout(r.Timeout)
}

// Validate checks r: an offset of at most a day either way.
func (r ClockRequest) Validate() error {
	if r.Offset > 24*time.Hour || r.Offset < -24*time.Hour {
		return fmt.Errorf("%w: clock offset %v beyond a day", ErrBadRequest, r.Offset)
	}
	return nil
}
