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
// # Membership and guarded writes
//
// A store that implements [Membership] keeps the members of a cluster
// beside the data (one record per node: an incarnation that only grows,
// and a counter every renewal bumps), and honours [Write].Guard: a guarded
// write applies only if its writer's record still holds its incarnation,
// checked in the same atomic step as the write. Once Expel (or Leave, or
// a Join that replaces the record) returned, no write of the removed
// record can land any more, so a node that was paused or cut off and then
// expelled cannot write a stale value behind the cluster's back. A store
// that is no Membership rejects a guarded write with [ErrInvalid].
//
// Versions, and the versions a store assigns, are at most
// [merge.MaxVersion]; a store refuses a write beyond it ([ErrInvalid]) and
// reports a larger stored version as an error, not a value.
//
// # Adapters
//
// Sub-packages hold the adapters: [github.com/warpcache/warp/store/memory]
// for tests and single-process use, and adapters for PostgreSQL and Redis.
// All three implement [Committer] and [Membership]. The contract suite in
// [github.com/warpcache/warp/store/storetest] runs against every one of
// them. A store never caches: caching is Warp's job.
package store
