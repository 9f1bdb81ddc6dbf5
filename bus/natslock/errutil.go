package natslock

import (
	"context"
	"strconv"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// isConflict reports whether err is a failed compare-and-set.
func isConflict(err error) bool { return jskv.IsConflict(err) }

// opError wraps a server or connection error, with ctx.Err() if ctx ended.
func opError(ctx context.Context, op, name string, err error) error {
	return jskv.OpError(ctx, "natslock", op, strconv.Quote(name), err)
}
