// Package natslock provides distributed locks with fencing tokens on NATS
// JetStream KV, with expiry enforced by the NATS server: a lock whose
// holder dies (crash, partition, closed connection) is deleted by the
// server when its TTL runs out, without help from any client.
//
// # Model
//
// A [Locker] stores each lock as one key of a KV bucket (history 1,
// per-key TTLs). A grant is a KV Create with a per-message TTL; Create
// succeeds only if the key has no live entry, so at most one grant of a
// name is live at a time. [Lock.Refresh] rewrites the entry with a new TTL
// (and the value owner, newline, token) and [Lock.Unlock] purges it, both
// compare-and-set on the revision the grant last wrote, so a holder that
// lost its lock cannot extend or release somebody else's. If that
// revision is stale because a Refresh was stored but its reply lost, they
// read the entry and carry on when its value is the grant's own. [Locker.Lock] waits by watching the key: it
// tries again when it sees a delete or purge marker (an Unlock, or the
// marker the server leaves when the TTL ran out), and it reads the key
// every MarkerTTL (each read bounded by min(MarkerTTL, 5 s), and preceded
// by a PING, so that a long cut does not end in a burst of buffered
// reads), since a waiter cut off or paused for longer than the marker
// lived never receives it. Waiters are not served in order.
//
// # Fencing tokens
//
// [Lock.Token] is the KV revision of the granting Create: the stream
// sequence of the bucket, which grows with every write, so every grant of
// a name has a larger token than the one before, and Refresh keeps it. A
// holder can be paused past its TTL (GC, swap, partition) and keep acting
// as if it held the lock; pass the token with every write it makes under
// the lock, as store.Write.Fence, and the store rejects the stale holder's
// writes with store.ErrFenced once a newer holder has written.
//
// # Expiry
//
// TTLs are whole seconds on the server (at least 1s); every TTL is rounded
// up, so a lock never expires earlier than asked. A TTL above [MaxTTL] (100
// years), such as time.Duration(math.MaxInt64), is refused with
// [ErrInvalid], never shortened. The server times the TTL
// from the moment it stored the entry, with its own clock; the expiry
// fires on time to within a few milliseconds, plus the time to propagate
// the marker to waiters. Clients' clocks play no part. A holder should
// refresh well before the TTL (e.g. at a third of it): a Refresh that
// races the expiry may succeed and still be rolled up by the server's
// marker. Mutual exclusion in real time thus rests on timing; fencing does
// not.
//
// # Names
//
// A lock's name is its KV key, used verbatim: the characters
// [-/_=.a-zA-Z0-9], at most 1024 bytes, no leading, trailing or double
// dot. Other names are rejected with [ErrInvalid]; encode arbitrary
// strings yourself (e.g. base64.RawURLEncoding).
//
// # Errors
//
// Errors wrap [ErrLocked], [ErrNotHeld], [ErrInvalid], [ErrClosed], or the
// context's error, with the operation and the name.
package natslock
