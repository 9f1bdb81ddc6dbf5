// Package shard is one shard of Warp's L1 cache: an actor that owns a
// bigcache slice and a [View] that readers use without waiting for the
// actor.
//
// # Entries
//
// Each cached value is stored behind a [Header] of [HeaderSize] bytes: its
// version, its expiry on the node's monotonic clock (actors.Node.Now), the
// registration epoch it was resolved under, and flags (strong, negative).
// Readers check expiry and epoch on every read; a periodic sweep drops
// expired entries, and bigcache's life window is only a backstop.
//
// # Hot tier
//
// A 4-way set-associative table of decoded entries sits in front of
// bigcache, whose reads copy the entry out and cost several hundred
// nanoseconds: a hit in the hot tier reads one cache line of tags, the
// entry, and compares the key. Reads promote keys into it; writes and
// invalidations clear the key's way.
//
// # Generations
//
// Each key hashes to a stripe whose generation moves on every write and
// invalidation. A loader reads the generation before it loads from the
// store; the shard installs the loaded value only if the generation has not
// moved, so a load racing a write never re-installs the old value. Versions
// only grow: no entry replaces a newer one.
//
// # Failures
//
// A panic while handling a message answers that message's caller and every
// key-lock waiter with [ErrRestarted], then lets the guardian restart the
// actor, which empties the cache and bumps [View.Restarts].
package shard
