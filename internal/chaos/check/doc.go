// Package check judges a chaos history (package history) against Warp's
// promises. Every checker is conservative: it reports only what the
// history proves, never a violation that some ordering of concurrent or
// unanswered operations could explain.
//
// # Checkers
//
//   - [Linearizable]: every StrongDistributed key's reads and writes,
//     checked with porcupine against a register. A transaction counts as a
//     write of each of its keys over the transaction's interval: if the
//     whole history is linearizable with each transaction atomic, each
//     key's projection is linearizable too, so this finds no false
//     violation (it misses only a transaction seen half-applied across
//     keys, which [Phantoms] and the eventual checks do not claim either).
//     A write with no answer may take effect at any time after its call
//     (its return is moved to the end of the history); a write that failed
//     with ErrQuorum is left out, since it must have changed nothing.
//   - [Stale]: for each read of an EventualDistributed key, whether it
//     returned a value that a later write had replaced more than a bound
//     before the read was invoked. A write W' replaces the write W of the
//     value read only when W' was invoked after W returned (the store
//     orders them so); the staleness is the read's invocation minus the
//     earliest such W' return. Run with a zero bound on strong keys, it
//     lists witnesses of non-linearizable reads.
//   - [Phantoms]: no value whose write failed with ErrQuorum is ever read
//     or left in the store, no read returns a value nobody wrote or finds
//     a key absent (every key is written before the history starts), and
//     the store's final value of a key is not older than a write known to
//     have followed it (a lost write).
//
// Convergence after the last heal is measured by the runner, which
// records its final reads into the history, so they are judged here too.
package check
