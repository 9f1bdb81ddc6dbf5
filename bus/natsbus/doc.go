// Package natsbus is the NATS [bus.Transport]: every node of a cluster holds
// exactly two subscriptions, whatever the number of keys.
//
// # Subjects
//
//	<prefix>.<cluster>.bcast       every node subscribes; broadcasts go here
//	<prefix>.<cluster>.node.<id>   one node's inbox: acks, retransmits, heartbeat answers
//
// The prefix is "warp" unless [Options.SubjectPrefix] says otherwise; the
// cluster name and the node id must be valid subject tokens (no dots,
// wildcards or white space).
//
// # Connections
//
// [Dial] connects to a URL with the reconnect settings of [Options] and
// closes the connection on [Transport.Close]; [FromConn] shares a
// connection the caller owns and only unsubscribes on Close. Either way the
// transport reports disconnects and reconnects to the bus, which stops
// serving strong keys while disconnected and flushes after a reconnect,
// because what was published meanwhile may be lost (core NATS does not
// store messages). A slow consumer (a subscription over its pending limits)
// also loses messages; the bus's gap detection repairs that.
//
// # Embedded server
//
// [StartEmbedded] runs a nats-server inside the process on 127.0.0.1 and a
// random port, for warp-bench, the examples and the tests; [Server.Restart]
// brings it back on the same port, to test reconnects.
package natsbus
