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
//
// # CRDTs
//
// Three conflict-free replicated data types are plain values Warp stores,
// each with a merge [Func] to register for its keys:
//
//   - [PNCounter], a counter that goes up and down, with [MergePNCounter]:
//     a write is a delta, PNCounter{}.Inc(node, n), added to the stored
//     counter exactly once.
//   - [ORSet], an add-wins observed-remove set, with [MergeORSet]: a write
//     is a delta (ORSet{}.Add(e, tag)) or the state read with an element
//     removed; both are joined with the stored set.
//   - [LWWRegister], a last-writer-wins register on the hybrid logical
//     clock, with [MergeLWWRegister]: the write with the larger
//     [Version] (then node id) stays, whatever order writes arrive in.
//
// Each also has a state-based Merge method, commutative, associative and
// idempotent, for replicas that exchange whole states. A [Tag] (node id and
// [Version]) names one event uniquely when every node id has its own
// [Clock]. docs/merge.md gives each type's contract and costs.
package merge
