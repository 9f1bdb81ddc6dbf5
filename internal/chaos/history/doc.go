// Package history records what the chaos suite's clients did: every
// operation with its invocation and completion time, both read on the
// controller's monotonic clock (one clock for the whole history, whatever
// the nodes' clocks say), and how it ended.
//
// # Outcomes
//
// An operation that got no answer in time (a paused node, a cut link) is
// [Unknown]: a write may or may not have happened, so the checkers let it
// take effect at any time after its invocation (its Return is then
// meaningless) or never. A write that failed with api.ErrQuorum on the node
// is [Failed]: the promise is that it changed nothing. A request that
// certainly never reached the node is not recorded at all.
package history
