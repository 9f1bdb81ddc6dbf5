// Package merge holds what Warp knows about values and their versions:
// [Version], a hybrid-logical-clock timestamp, and [Clock] that issues it;
// [Value], a value with its version; and [Engine], which decides how a write
// is combined with the current value of its key: last-write-wins by
// default, or a [Func] registered per key or per pattern, such as [Sum].
//
// # Where merges run
//
// Warp applies a merge while it holds the key's write lock in the key's
// shard, reading the current value and writing the merged one with a
// compare-and-swap on the store's version, so concurrent writes on one node
// are serialized and writes from other nodes are retried: no update is
// lost. The package does no I/O.
package merge
