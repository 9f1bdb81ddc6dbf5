// Package bus keeps the L1 caches of a cluster's nodes coherent: the bus
// actor broadcasts this node's invalidations and applies everybody else's
// through an [Applier], over a [Transport].
//
// See docs/syncbus.md for the protocol and the argument behind each
// guarantee.
package bus
