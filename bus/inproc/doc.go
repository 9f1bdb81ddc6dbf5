// Package inproc is an in-process [bus.Transport] for tests: a [Hub] routes
// messages between the transports made from it, with no network.
//
// # Delivery
//
// Each open transport has one delivery goroutine and an unbounded queue, so
// a sender never blocks and messages from one sender arrive in order.
// Broadcasts are not echoed to their sender. [Transport.Disconnect] and
// [Transport.Reconnect] simulate a lost connection: they report the state
// change to the handler and drop everything to and from the node meanwhile.
package inproc
