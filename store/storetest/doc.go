// Package storetest is the contract suite that every [store.Store] adapter
// must pass. An adapter's test calls [Run] with a [Harness] that builds a
// fresh, empty, isolated store per call; Run then checks, in parallel
// subtests, everything the doc comments of package store promise.
//
// # What is checked
//
//   - Get, Set, Delete and Version: values round-trip, versions are
//     max(Write.Min, stored+1), deletes leave a versioned tombstone that a
//     create-if-absent write or a stale compare-and-swap cannot get past.
//   - Compare-and-swap ([store.Write].Check, including IfVersion 0) and
//     fencing tokens ([store.Write].Fence: older rejected, equal accepted,
//     the floor only moves up).
//   - Scan by prefix, including prefixes holding the LIKE and glob
//     metacharacters % _ * ? [ ] and \, and callbacks that call the store.
//   - [store.Committer]: all ops or none, ops on one key seeing each other,
//     conflicts in the middle applying nothing.
//   - Concurrency: one winner per round of concurrent compare-and-swaps,
//     exact totals from concurrent increment loops, distinct versions for
//     concurrent writes, conserved sums under concurrent commits.
//   - Bad input: empty keys ([store.ErrInvalid]), keys and values over the
//     adapter's limits ([store.ErrTooLarge]), cancelled contexts.
//   - [store.Historian]: GetAt within and beyond the retained history.
//
// Failures of the server itself (a connection killed mid-call) depend on
// the adapter and are tested beside it.
//
// # Benchmarks
//
// [BenchGet] and [BenchSet] are the shared bodies of every adapter's
// BenchmarkGet and BenchmarkSet, so that figures are comparable.
package storetest
