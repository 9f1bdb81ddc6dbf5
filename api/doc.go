// Package api is Warp's typed facade: [Warp] caches values of type T in
// front of a [github.com/warpcache/warp/store.Store], on a node's shard actors.
//
// # Registration
//
// Every key must be covered by a registration before use: an exact key
// ("user:42") or a prefix pattern ("user:*"), each with a [Mode] and a TTL
// ([Warp.Register]) or a TTL strategy ([Warp.RegisterDynamicTTL],
// [AdaptiveTTL]). Exact keys beat patterns and longer patterns beat shorter
// ones; lookups cost time in the key's length, never in the number of
// registrations, and a cache hit does not look the table up at all: each
// entry remembers the table epoch it was resolved under.
//
// # Reads and writes
//
// [Warp.Get] serves a hit from the key's shard without an actor round trip:
// first the shard's decoded hot tier (one cache line of tags), then its bigcache
// slice. A miss loads from the store once for all concurrent callers and
// installs the value only if no write or invalidation of the key happened
// since the load began. [Warp.Set] writes the store first, then installs the
// value through the shard's mailbox, so the writer reads its own write; a
// merge function registered in the [github.com/warpcache/warp/merge.Engine] makes Set combine the
// value with the current one under the key's lock, losing no update.
//
// # Errors
//
// Every error wraps one of the sentinels in errors.go: [ErrNotFound],
// [ErrUnregistered], [ErrClosed], [ErrInvalidKey], [ErrTooLarge],
// [ErrInvalidTTL], [ErrConflict], [ErrPattern], [ErrLoader], [ErrCodec],
// [ErrQuorum], [ErrConfig]; or, for transactions, versioned reads and
// coordination, [ErrCompareFailed], [ErrTxnDone], [ErrHistory] and
// [ErrNoCoordination]. A panic in the store or a merge function becomes an
// error.
package api
