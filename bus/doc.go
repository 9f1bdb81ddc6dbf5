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
// origin's epoch (new at every process start). A receiver applies each new
// envelope through the Applier (which keeps the newest version, so
// duplicates and reorders are harmless), notices holes from later sequence
// numbers and from the watermark in heartbeats, and asks the origin to
// send the missing envelopes again from its ring. If the origin no longer
// has them, or does not answer, the receiver flushes. A reconnect or a
// lapsed lease also ends in a flush. A full publish queue turns into a
// flush broadcast: never a silent drop.
//
// # Strong invalidations and the coherence lease
//
// A node may serve StrongDistributed keys from L1 only while
// [Bus.LeaseValid]. Its lease with respect to a peer is renewed only by a
// heartbeat round trip it started, and lasts from the heartbeat's send time
// for Config.LeaseDuration. [Bus.PublishStrong] waits until every peer of
// the view acked or provably lost its lease: no answer from the writer for
// LeaseDuration·(1+ρ)/(1−ρ) + LeaseMargin, ρ being Config.MaxClockDrift.
// docs/syncbus.md has the argument and the limits (a partition longer than
// PeerTimeout splits the view).
package bus
