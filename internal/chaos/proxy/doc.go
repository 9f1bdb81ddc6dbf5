// Package proxy is the fault proxy of the chaos suite: a TCP forwarder on
// 127.0.0.1 that sits between one Warp node and its NATS server and can
// cut, slow down or heal that link on command.
//
// # Model
//
// A [Proxy] listens on a loopback port and, for each connection it
// accepts, dials the first of its upstream targets that answers and pumps
// bytes both ways. Each direction ([Up]: client to server, [Down]: server
// to client) has its own state:
//
//   - a cut holds the bytes read in that direction until the cut heals, as
//     a network partition does to a TCP stream that survives it (the
//     reader stops once its queue is full, so the kernel's buffers fill
//     and the sender blocks, as it would on a real link);
//   - a latency delays every chunk by a base plus a uniform jitter, keeping
//     the stream's order.
//
// [Proxy.Cut] with drop also closes every open connection (both ends), as
// a partition that outlives TCP's patience does; connections accepted
// while a cut holds are held like the others (a black hole: the client's
// connect times out). [Proxy.Heal] ends every cut and latency.
//
// Bytes are never dropped from the middle of a stream: NATS, like any
// TCP protocol, would see corruption rather than a partition.
package proxy
