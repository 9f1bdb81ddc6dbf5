package store

import (
	"context"

	"github.com/warpcache/warp/merge"
)

// Item is a stored value and the version the store assigned to it.
type Item[T any] struct {
	Value   T
	Version merge.Version
}

// Write carries the conditions of one write.
//
// The store assigns the written key the version max(Min, stored+1), where
// stored is the key's current version (a deleted key keeps its version as a
// tombstone), so versions of a key grow in the order the store applies
// writes. With Check set, the write applies only if the stored version equals
// IfVersion (0: the key was never written or has no version); otherwise it
// fails with [ErrConflict]. With Fence > 0, the write is rejected with
// [ErrFenced] if the store has already accepted a larger fencing token for
// the key; an accepted token becomes the key's new floor. With Guard set,
// the write applies only while its writer is a member (see [Guard]); a
// store that does not implement [Membership] rejects a guarded write with
// [ErrInvalid]. Min and IfVersion above [merge.MaxVersion] are rejected
// with [ErrInvalid].
type Write struct {
	Min       merge.Version
	Check     bool
	IfVersion merge.Version
	Fence     uint64
	Guard     Guard
}

// Store is the primary store (L2) behind a Warp cache. Implementations are
// safe for concurrent use, honour ctx on every call, and never cache.
type Store[T any] interface {
	// Get returns the key's value and version, or an error wrapping
	// [ErrNotFound] if it does not exist or was deleted.
	Get(ctx context.Context, key string) (Item[T], error)
	// Version returns the key's current version without its value: 0 for
	// a key never written, the tombstone's version for a deleted one.
	Version(ctx context.Context, key string) (merge.Version, error)
	// Set writes value under the conditions of w and returns the version
	// the store assigned.
	Set(ctx context.Context, key string, value T, w Write) (merge.Version, error)
	// Delete removes key under the conditions of w, leaving a tombstone
	// with the returned version so that older writes cannot resurrect it.
	Delete(ctx context.Context, key string, w Write) (merge.Version, error)
	// Scan calls fn for every live key that starts with prefix, in no
	// particular order, until fn returns an error, which Scan returns.
	Scan(ctx context.Context, prefix string, fn func(key string, it Item[T]) error) error
}

// OpKind says what an [Op] does.
type OpKind uint8

// The kinds of Op.
const (
	OpSet OpKind = iota + 1
	OpDelete
	// OpCheck writes nothing; it makes the commit fail with ErrConflict
	// unless the key's version equals Write.IfVersion.
	OpCheck
)

// Op is one write of an atomic [Committer.Commit].
type Op[T any] struct {
	Kind  OpKind
	Key   string
	Value T
	Write Write
}

// Committer is implemented by stores that apply several writes atomically:
// all of them or none. Commit returns the version assigned to each op, in
// order (the checked version for an OpCheck).
type Committer[T any] interface {
	Commit(ctx context.Context, ops []Op[T]) ([]merge.Version, error)
}

// Historian is implemented by stores that keep older versions of a key.
// GetAt returns the value the key had at version at (the newest version
// ≤ at), or an error wrapping [ErrNotFound] if it did not exist then, or
// [ErrHistory] if at is older than the retained history.
type Historian[T any] interface {
	GetAt(ctx context.Context, key string, at merge.Version) (Item[T], error)
}
