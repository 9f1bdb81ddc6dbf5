// Package actors owns Warp's actor system: a [Node] (its id and epoch, an
// injected *slog.Logger that is silent by default, a monotonic clock,
// [Node.Now], read afresh on every check, and a hybrid logical clock) and
// [Router]s that map keys to shard actors by hash and own those actors.
//
// # Dispatch
//
// Shard mailboxes run on protoactor's synchronized dispatcher: the goroutine
// that finds a mailbox idle runs it, so a request costs no goroutine
// creation, and replies travel in pooled reply slots (an atomic state,
// and a channel only once the waiter parked:
// [github.com/warpcache/warp/messages.Reply]) rather than futures. BenchmarkRoundTrip measures the
// choice against protoactor's defaults (docs/core.md has the figures).
//
// # Lifecycle
//
// A panicking shard is restarted by its guardian with an empty cache and a
// higher generation; the request that panicked is answered with an error at
// once. [Router.Close] and [Node.Close] refuse new requests, let those in
// flight finish, stop the actors (a poison message queued behind them) and
// wait; both are idempotent.
package actors
