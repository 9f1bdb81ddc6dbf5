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
//   - Versions: a Write.Min or Write.IfVersion above [merge.MaxVersion],
//     or a write that would assign a larger version, fails with
//     [store.ErrInvalid] and writes nothing.
//   - [store.Membership] (skipped for a store that is none): Join, Renew,
//     Expel and Leave, incarnations that grow across rejoins, expulsions
//     and leaves, the compare-and-swap of Expel, clusters kept apart,
//     [store.MaxMembers], bad ids and incarnations, cancelled contexts;
//     writes and commits guarded by a node that was expelled, left,
//     rejoined, never joined or names another incarnation fail with
//     [store.ErrNotMember] and write nothing. Under concurrency, in rounds,
//     for Expel, Leave and a Join that replaces the record alike: once the
//     removal of a member returned, every guarded write of it that
//     succeeded is visible (its version at most the one read right after
//     the removal), and every one that starts afterwards fails.
//
// Failures of the server itself (a connection killed mid-call) depend on
// the adapter and are tested beside it.
//
// # Benchmarks
//
// [BenchGet] and [BenchSet] are the shared bodies of every adapter's
// BenchmarkGet and BenchmarkSet, so that figures are comparable;
// [BenchMembership] runs [BenchGuardedSet], [BenchGuardedRatio] and
// [BenchRenew] for every adapter's BenchmarkMembership.
package storetest
