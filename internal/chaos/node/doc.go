// Package node is the node role of warp-chaos (`warp-chaos node ...`): one
// OS process that embeds one Warp instance and serves the control API of
// package control on a loopback port.
//
// # Warp's configuration
//
// Every setting of Warp a chaos node uses is made by one function,
// newWarp in warp.go: the PostgreSQL store on the run's table, the NATS
// bus through the node's fault proxy, the node id and clock, and, through
// register (which the tests call too), the four key families, all with
// [KeyTTL], long enough that expiry never makes a read fresh:
// [StrongPrefix] keys registered StrongDistributed, [QuorumPrefix] keys
// StrongDistributed with a quorum of one peer, [EventualPrefix] keys
// EventualDistributed, and [ServeStalePrefix] keys EventualDistributed
// with serve-stale for [ServeStaleAge]. The staleness bound the controller
// checks eventual reads against, [StalenessBound] (plus ServeStaleAge for
// serve-stale keys), is derived from the bus timing set there. The hidden -canary flag ([Settings].Canary) registers every
// family EventualDistributed with serve-stale instead, for the canary
// scenario, whose runs must fail.
//
// # Clock
//
// The node gives Warp (actors.Config.Clock) the wall clock plus an offset,
// set by the -clock-offset flag at start and changed at run time through
// the control API: a node whose clock is an hour ahead, or that jumps.
// Warp reads that clock once, when the node starts, to anchor its hybrid
// logical clock (and the node's epoch), and follows the monotonic clock
// from there (actors.Node.Now); no deadline reads it (entry expiry,
// fences, leases), and the bus measures its leases and timeouts with its
// own monotonic clock (bus.Config.Now is left to its default). So a jump
// at run time moves nothing; a node restarted with an offset issues
// versions that far ahead (or behind), and the other nodes refuse to
// observe a version further ahead than actors.Config.MaxClockAhead.
//
// # Start-up
//
// [Run] prints one line, "warp-chaos node ready <addr>", on stdout once
// the node has joined the bus and listens; it stops on SIGTERM or SIGINT,
// closing Warp (which leaves the bus) and the store's pool.
package node
