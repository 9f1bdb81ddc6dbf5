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
// serving strong keys while disconnected. What was published meanwhile may
// be lost (core NATS does not store messages): after a reconnect the bus
// catches up from the origins' rings and also flushes once (a node it
// never heard of may have written and gone meanwhile). A slow consumer (a
// subscription over its pending limits) also loses messages: the
// transport reports it as [bus.Dropped], and the bus repairs it the same
// way.
//
// # Security
//
// [Options] carries the nats.go credentials (User and Password, Token, an
// nkey seed file, a .creds file) and TLS settings (a CA file, a client
// certificate and key, a base *tls.Config); [Dial] applies them and
// rejects two kinds of credentials at once. Its errors and the lines it
// logs to [Options.Logger] never show a credential: user info in a URL is
// replaced by REDACTED, and a password or token found in a server's or
// the client's error message is taken out. A connection the caller makes
// itself with nats.Connect (one that hears its own messages, which Dial's
// does not) takes the same settings from [Options.Credentials], and
// [Options.Secrets] lists what to keep out of its messages. Which subjects
// Warp's NATS user needs, and how to keep other clients off them, is in
// docs/security.md.
//
// # Embedded server
//
// [StartEmbedded] runs a nats-server inside the process on 127.0.0.1 and a
// random port, for warp-bench, the examples and the tests; [Server.Restart]
// brings it back on the same port, to test reconnects. A node in the
// server's own process can reach it through an in-memory pipe instead of
// 127.0.0.1: pass the [*Server] as [Options.InProcess].
// [EmbeddedOptions.Configure] adjusts the server's options (users,
// permissions, TLS, an operator), so tests can require credentials.
package natsbus
