// Package natslease provides leases with attached keys on NATS JetStream
// KV: when a lease is revoked, on any node, or expires on the server
// because nobody kept it alive, every node is told which keys were
// attached to it, wherever they were attached, and drops its cached
// copies of them.
//
// # Model
//
// One [Leases] per node watches one KV bucket (history 1, per-key TTLs).
// A lease is the entry "lease.<id>", created by [Leases.Grant] with a
// per-message TTL and the TTL in its value; [Leases.KeepAlive] rewrites it
// (compare-and-set, so an ended lease stays ended) with a new TTL, and
// [Leases.Revoke] purges it. An attached key is the entry
// "attach.<id>.<base64url(key)>", written by [Leases.Attach] with the
// lease's TTL and rewritten by KeepAlive, so attachments never expire
// before their lease and vanish by themselves after it.
//
// Each node's watcher receives every entry of the bucket, in order, from a
// replay of the bucket's contents onwards ([New] returns after the
// replay, so a node that joins late knows every live lease and
// attachment). It keeps the keys attached to each lease, and when the
// lease's entry ends — a Revoke's purge marker, or the marker the server
// writes when the TTL ran out — it calls the node's [RevokeFunc] once
// with the lease's keys and forgets the lease. A marker lives
// [Config.MarkerTTL] on the server: a watcher that was cut off, paused,
// held up or without a consumer for half of that or more (it proves its
// watch delivers by writing a probe entry of its own every MarkerTTL/8
// and taking it back) may have missed ends, and calls [Config.Flush]
// with an empty id; so does a watcher whose watch the client ended, which
// then watches again (see docs/leases.md).
//
// # Expiry
//
// TTLs are whole seconds on the server (at least 1s); every TTL is rounded
// up, so a lease never ends earlier than asked. A TTL above [MaxTTL] (100
// years), such as time.Duration(math.MaxInt64), is refused with
// [ErrInvalid], never shortened; so is a lease entry whose stored TTL is
// outside 1s to MaxTTL. The server expires the
// entry by itself: a lease ends on time even if the node that granted it
// died.
//
// # Bounds
//
// Any client of the server can write the bucket, so the watcher treats
// its entries as untrusted and bounds what they cost:
//
//   - Keys per lease: at most [Config.MaxAttachments] (default 65,536).
//     [Leases.Attach] of a new key to a lease that has that many, as this
//     node's watcher knows them, fails with [ErrTooManyKeys];
//     [Leases.KeepAlive] lists at most one more, and revokes a lease that
//     has more (its attachments past the bound would expire before it).
//     The watcher stops recording the keys of a lease past the bound, and
//     at its end calls [Config.Flush] instead of the [RevokeFunc]: the node
//     must drop every cached key, since the lease's are not known. Without
//     a Flush, the watcher keeps recording them, without bound, rather
//     than miss one.
//   - Leases: at most [Config.MaxLeases] (default 1,048,576) tracked,
//     live or pending (named by attachments only), and as many tombstones.
//     Past the bound the watcher tracks no new lease; a key attached to a
//     lease it does not track is revoked at once, alone (dropping a cached
//     copy early is always safe), and, since the node can cache it again,
//     that lease's end calls [Config.Flush], even if the watcher tracks
//     the lease by then (it lacks that key). The watcher notes such leases
//     in a fixed set of bits (a Bloom filter, 4 bytes per MaxLeases), so
//     that untracked entries cost it nothing each, and never forgets them:
//     a lease can live up to [MaxTTL], longer if kept alive, and the node
//     cannot tell when all those it refused have ended. The filter also
//     names some other leases, more as more are refused (0.4% of them
//     after MaxLeases refused, 22% after ten times as many): their ends
//     flush too. Past MaxLeases tombstones, the one due soonest is
//     forgotten (a late attachment of its lease is then read, below, or
//     refused). Without a Flush, the watcher tracks every lease, without
//     bound.
//   - Reads: an attachment (or its marker), after the replay, of a lease
//     the watcher does not know makes it read the lease's entry (to revoke
//     the key if the lease is gone), off the watcher goroutine: at most 4
//     reads at once, 1024 leases queued or being read; past that, the key
//     is revoked at once, and the lease is read once the reads have
//     drained. Such keys are reported when the read returns, perhaps after
//     the ends of leases seen later.
//
// # Races
//
// Attach checks that the lease exists, writes the attachment, and checks
// again; if the lease ended in between it returns [ErrNotFound], and the
// watchers, which remember ended leases for a while, revoke the key on
// every node when they see an attachment written after its lease's end.
// The bucket keeps only the last entry per key, so a watcher can miss an
// entry replaced by a newer one; no entry is relied on alone (see
// docs/leases.md).
//
// # Errors
//
// Errors wrap [ErrNotFound], [ErrInvalid], [ErrTooManyKeys], [ErrClosed],
// or the context's error, with the operation and the lease id.
package natslease
