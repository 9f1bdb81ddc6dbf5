// Package bus keeps the L1 caches of a cluster's nodes coherent with the
// primary store: the bus actor broadcasts this node's invalidations and
// applies everybody else's through an [Applier], over a [Transport].
//
// # Model
//
// [New] spawns one protoactor actor per node that owns every piece of
// protocol state: this node's sequence numbers and retransmit ring, what it
// knows of each peer (epoch, receive watermark, gaps, lease), and the
// strong publishes waiting for acks. The [Bus] methods are a thin facade:
// [Bus.Publish] only enqueues; [Bus.PublishStrong] sends a request and
// waits on a reply channel, with the context's deadline mapped onto the
// actor's own deadline because protoactor futures cannot be canceled;
// [Bus.LeaseValid] is an atomic load and a clock read.
//
// # Transport
//
// A [Transport] broadcasts opaque messages to the cluster and sends them to
// one node's inbox; every node holds one broadcast subscription and one
// inbox, never one per key. The NATS transport is in
// [github.com/warpcache/warp/bus/natsbus], an in-process one for tests in
// [github.com/warpcache/warp/bus/inproc], a fault injector in
// [github.com/warpcache/warp/bus/faultbus], and the contract every
// transport passes in [github.com/warpcache/warp/bus/bustest]. Messages are
// batches of [github.com/warpcache/warp/messages/wire.Envelope].
//
// # Eventual invalidations
//
// Every broadcast envelope carries a per-origin sequence number within the
// origin's epoch (its [Membership] incarnation: new at every start, and
// again on a rejoin after it lost its record). A receiver applies each new
// envelope through the Applier (which keeps the newest version, so
// duplicates and reorders are harmless), notices holes from later sequence
// numbers and from the watermark in heartbeats, and asks the origin to
// send the missing envelopes again from its ring. If the origin no longer
// has them, or does not answer after Config.RetransmitTries requests, the
// receiver flushes. After a reconnect, or messages the transport dropped
// (State Dropped), the node catches up the same way and also flushes (a
// node it never heard of may have written and gone meanwhile); after a
// lapsed lease it catches up; either way it takes its lease back only
// then. It also flushes for a member gone without a clean Leave, a lost
// membership, a
// publisher beyond Config.MaxPeers, a failed Applier call, and its first
// lease after joining, never more than once per Config.FlushInterval (a
// flush asked for sooner waits, with the lease off). A full publish queue
// turns into a flush broadcast: never a silent drop.
//
// # Strong invalidations and the coherence lease
//
// The view is the cluster's [Membership], kept in the primary store: a
// node joins in [New], renews every Config.MemberLease/4, and is expelled
// by the others once its record has not changed for
// MemberLease·(1+ρ)/(1−ρ) + LeaseMargin, ρ being Config.MaxClockDrift.
// Silence never removes a member. A node may serve StrongDistributed keys
// from L1 only while [Bus.LeaseValid]: it is a member, and for every member
// of its view it holds a lease, renewed only by a heartbeat round trip it
// started that the member answered as a member, lasting
// Config.LeaseDuration from the heartbeat's send time, and counted only
// once the node caught up with everything the member had sent when it
// answered. [Bus.PublishStrong] waits until every member of the view acked
// or provably lost its lease: no answer from the writer for
// LeaseDuration·(1+ρ)/(1−ρ) + LeaseMargin. docs/syncbus.md has the
// argument and the timings. Without a Membership the view is the peers
// heard within Config.PeerTimeout, which a partition splits: only eventual
// keys should run on such a bus.
package bus
