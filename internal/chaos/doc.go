// Package chaos is Warp's multi-process fault suite (warp-chaos, `make
// chaos`): it runs Warp nodes as separate OS processes sharing one
// PostgreSQL table over NATS, each behind its own fault proxy, puts them
// under load, injects faults, and judges the recorded history against
// Warp's promises. docs/reliability.md describes it and holds the latest
// results.
//
// # A run
//
// Each run of a [Scenario] starts a fresh cluster (package cluster: NATS
// servers, proxies, nodes n1..nN, a new table whose keys all hold "init"),
// starts the load (package workload: clients in this process, each bound
// to a node, reading, writing and committing small transactions on a few
// keys of each family of package node (StrongDistributed, the same with a
// quorum of one peer, EventualDistributed): two that every node writes and
// one per node that only that node writes), lets it run, applies
// the scenario's faults and heals them, lets the load run on, stops it,
// then reads every key on every node until each serves the store's value
// (convergence, bounded), and stops the cluster. The history is judged by
// package check, within what is left of the profile's budget:
// linearizability of strong keys (porcupine), staleness of eventual reads
// against a bound, phantom reads and lost writes. Evidence of a failure
// (porcupine visualizations, the history as JSON lines, node logs) is
// written under [Options].OutDir.
//
// # Profiles
//
// [Profiles] has "short", every scenario once within a 10-minute budget
// (CI), and "full", every scenario, the pause and 30 s partition
// scenarios five times. [Run] prints one table row per scenario and
// reports failure if any check failed in any run, or if a run of the
// canary, a scenario whose nodes are broken on purpose
// ([Scenario].Canary), passed every check.
package chaos
