// Package store defines [Store], the primary store (L2) that a Warp cache
// writes through to and loads from, and the errors every adapter shares.
//
// # Versions
//
// The store is the authority on a key's version: every write is assigned
// max(Write.Min, stored+1), so a key's versions grow in the order its writes
// were applied, and a version passed by the caller (a hybrid-logical-clock
// timestamp) only sets a floor. Deletes leave a versioned tombstone, so an
// older write that arrives late cannot resurrect a key. Checked writes
// ([Write].Check) give compare-and-swap on the version, and fencing tokens
// ([Write].Fence) reject writes from a lock holder that lost its lock.
//
// # Adapters
//
// Sub-packages hold the adapters: [github.com/warpcache/warp/store/memory]
// for tests and single-process use, and adapters for PostgreSQL and Redis.
// The contract suite in [github.com/warpcache/warp/store/storetest] runs
// against every one of them. A store never caches: caching is Warp's job.
package store
