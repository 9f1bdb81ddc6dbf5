// Package faultbus wraps a [bus.Transport] to inject faults into what one
// node receives: drops (a probability, or the next n messages), duplicates,
// delays, reorders, and partitions that cut the node off in both
// directions.
//
// # Determinism
//
// Every random choice comes from one generator seeded by the caller and is
// made on the wrapper's delivery goroutine, in arrival order, so a seed
// replays the same faults for the same arrival order.
package faultbus
