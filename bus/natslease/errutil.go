package natslease

import (
	"context"
	"fmt"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// isConflict reports whether err is a failed compare-and-set.
func isConflict(err error) bool { return jskv.IsConflict(err) }

// opError wraps a server or connection error, with ctx.Err() if ctx ended.
func opError(ctx context.Context, op, id string, err error) error {
	return jskv.OpError(ctx, "natslease", op, id, err)
}

// notFound is the error of an operation on a lease that does not exist.
func notFound(op, id string) error {
	return fmt.Errorf("natslease: %s %s: %w", op, id, ErrNotFound)
}
