// Package redis is a [store.Store] on Redis, through a caller-owned
// [github.com/redis/go-redis/v9.UniversalClient] (a single node, a
// failover client or a cluster). It implements [store.Committer] and
// [store.Membership]; it keeps no history, so it is no [store.Historian].
//
// # Layout
//
// Each key is one hash named [Config].Prefix+key with the fields v (the
// codec's encoding of the value), ver (the version), f (the fencing token),
// d ("1" for a tombstone) and w (the id of the last write). Versions and
// tokens are 20-digit decimal strings: Redis's Lua has only doubles, which
// cannot hold a 64-bit hybrid-logical-clock version, and fixed-width
// digits compare as numbers. A delete keeps the hash, without v, as a
// tombstone.
//
// # Membership
//
// The members of cluster C are one hash named Prefix + "\x00members:" + C:
// one field per member, node -> "<incarnation>:<counter>" (20 digits
// each), and the field "" holding the largest incarnation issued. Keys
// starting with a NUL byte are refused ([store.ErrInvalid]), so no key
// names that hash, and Scan skips it. Join, Renew, Expel and Leave are one
// script each; a guarded write or commit checks the member's field inside
// its own script, so no write runs between the check and the write, and
// none is in flight when Expel runs. On a Redis Cluster the hash must be in
// the slot of the keys it guards: use a hash tag in Prefix, as Commit
// needs, else a guarded write fails with [store.ErrNotAtomic].
//
// # Round trips
//
// Get is one HMGET, Version one HGET. Set and Delete are one Lua script each
// (EVALSHA, falling back to EVAL), which Redis runs atomically: it checks
// the conditions and writes in one step. [Store.Commit] is one script over
// all its keys.
//
// # Retries
//
// go-redis retries a command on a network error by default, which for a
// script whose reply was lost would apply it twice. Every write therefore
// carries an id that it leaves in the hash; a rerun that finds its own id
// still there returns the first run's result and writes nothing. (If
// another write came in between, the rerun is a new write: an unconditional
// one applies again, a checked one fails with [store.ErrConflict].)
//
// # Limits
//
// Commit on a Redis Cluster needs every key in one hash slot: use a hash
// tag in the prefix, such as "{app}:"; otherwise it fails with
// [store.ErrNotAtomic]. go-redis only interrupts a call in flight when its
// context ends if the client's Options.ContextTimeoutEnabled is set; a call
// is never partially applied either way. Join (a bus's membership) refuses
// a client without it: a strong write's store write must end within its
// bound.
package redis
