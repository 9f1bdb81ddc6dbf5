package natslease

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// isConflict reports whether err is a failed compare-and-set: the key's
// last revision was not the expected one. Single-replica streams report
// code 10071, replicated ones 10164.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// opError wraps a server or connection error; if ctx ended meanwhile, the
// result also wraps ctx.Err(), whatever the client returned.
func opError(ctx context.Context, op, id string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("natslease: %s %s: %w: %w", op, id, cerr, err)
	}
	return fmt.Errorf("natslease: %s %s: %w", op, id, err)
}

// notFound is the error of an operation on a lease that does not exist.
func notFound(op, id string) error {
	return fmt.Errorf("natslease: %s %s: %w", op, id, ErrNotFound)
}
