package bus

import (
	"context"

	"github.com/warpcache/warp/merge"
)

// Applier applies remote events to this node's cache; Warp's core
// implements it over its shards. The bus calls it from its actor, one call
// at a time, in arrival order; an Applier must not call back into the [Bus]
// and wait for it (that would be an A→B→A request). A returned error or a
// panic is reported on [Bus.Errors] and repaired with a flush.
type Applier interface {
	// Invalidate drops key's cached copy if it is older than v, and
	// returns once applied.
	Invalidate(ctx context.Context, key string, v merge.Version) error
	// Fence drops key's cached copy and stops caching key until the
	// token is released (Release with the same token) or the fence
	// expires: a strong write's or a transaction's first step.
	Fence(ctx context.Context, key string, token merge.Version) error
	// Release gives token back: key may be cached again (at a version ≥
	// token) once no other fence holds it.
	Release(ctx context.Context, key string, token merge.Version) error
	// InvalidatePrefix drops every cached key that starts with prefix.
	InvalidatePrefix(ctx context.Context, prefix string) error
	// Flush drops every entry that might be stale (repair of an unbounded
	// gap, a reconnect, dropped messages, a lost membership) and makes
	// fills that started before it void.
	Flush(ctx context.Context) error
}

// ApplierFuncs adapts functions to [Applier]; a nil field makes its method
// a no-op that returns nil.
type ApplierFuncs struct {
	InvalidateFunc       func(ctx context.Context, key string, v merge.Version) error
	FenceFunc            func(ctx context.Context, key string, token merge.Version) error
	ReleaseFunc          func(ctx context.Context, key string, token merge.Version) error
	InvalidatePrefixFunc func(ctx context.Context, prefix string) error
	FlushFunc            func(ctx context.Context) error
}

// Invalidate implements [Applier].
func (f ApplierFuncs) Invalidate(ctx context.Context, key string, v merge.Version) error {
	if f.InvalidateFunc == nil {
		return nil
	}
	return f.InvalidateFunc(ctx, key, v)
}

// Fence implements [Applier].
func (f ApplierFuncs) Fence(ctx context.Context, key string, token merge.Version) error {
	if f.FenceFunc == nil {
		return nil
	}
	return f.FenceFunc(ctx, key, token)
}

// Release implements [Applier].
func (f ApplierFuncs) Release(ctx context.Context, key string, token merge.Version) error {
	if f.ReleaseFunc == nil {
		return nil
	}
	return f.ReleaseFunc(ctx, key, token)
}

// InvalidatePrefix implements [Applier].
func (f ApplierFuncs) InvalidatePrefix(ctx context.Context, prefix string) error {
	if f.InvalidatePrefixFunc == nil {
		return nil
	}
	return f.InvalidatePrefixFunc(ctx, prefix)
}

// Flush implements [Applier].
func (f ApplierFuncs) Flush(ctx context.Context) error {
	if f.FlushFunc == nil {
		return nil
	}
	return f.FlushFunc(ctx)
}
