// Package messages holds every message exchanged between Warp's actors: the
// requests a node sends to its shard actors and the reply slot they answer
// on. The bus wire envelope and its codec live in [github.com/warpcache/warp/messages/wire].
//
// # Replies
//
// A request carries a [Reply], a pooled one-slot channel, instead of a
// protoactor future: a future registers a process and starts a timer per
// call, which costs several microseconds, while a buffered channel taken from
// a pool costs tens of nanoseconds (see docs/core.md for the measurement).
// The actor answers exactly once; the caller waits, then returns the slot to
// its [ReplyPool], one per router.
package messages
