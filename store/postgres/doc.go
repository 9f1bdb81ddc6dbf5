// Package postgres is a [store.Store] on a PostgreSQL table, through a
// caller-owned [github.com/jackc/pgx/v5/pgxpool.Pool]. It implements
// [store.Committer], [store.Historian] and [store.Membership] as well.
//
// # Layout
//
// One row per key (see schema.sql, which [New] applies on demand): key text
// COLLATE "C" primary key, value bytea (the codec's encoding), version and
// fence as bigint, deleted bool, updated_at timestamptz. A delete keeps the
// row as a tombstone so the key's version survives. Versions are limited
// to [merge.MaxVersion] (2^62-1) and fencing tokens to 2^63-1, so the
// bigint holds the version itself.
//
// # Membership
//
// The table <table>_members (cluster, node, incarnation, counter, primary
// key (cluster, node)) holds one row per member, and per cluster a row
// whose node is the empty string, that keeps the largest incarnation
// issued. A guarded Set or
// Delete locks its member's row FOR KEY SHARE in a CTE of its own
// statement, and a guarded Commit in its transaction, so the check and the
// write commit together. Expel and Leave first mark the row dead (negate
// its incarnation: an UPDATE that waits for no writer, after which no
// write matches the row), then DELETE it, which waits for the writes that
// hold its lock; a plain DELETE would wait behind every new writer too,
// since PostgreSQL lets KEY SHARE lockers overtake a waiting DELETE. Join
// marks and deletes the replaced record the same way, then inserts the new
// one. Renew is one round trip (its UPDATE and the members' SELECT in one
// batch, one implicit transaction).
//
// # Round trips
//
// Get, Version and every Set or Delete are one statement and one round trip:
// a write is an INSERT ... ON CONFLICT DO UPDATE ... WHERE (conditions)
// RETURNING version, or an UPDATE ... WHERE version = IfVersion for a
// compare-and-swap, so the server applies the conditions under the row
// lock. Only a rejected write pays a second query, to tell [store.ErrConflict],
// [store.ErrFenced] and, for a guarded write, [store.ErrNotMember] apart.
//
// # Commit
//
// [Store.Commit] runs one transaction: one pipelined batch locks the member
// rows of the ops' guards FOR KEY SHARE (a statement of its own, only if an
// op is guarded), then every key's row in key order (one statement that
// inserts a placeholder row for a missing key, so that nobody creates it
// meanwhile; lock order prevents deadlocks between commits); Go checks the
// ops in order against the locked rows, and a second pipelined batch
// applies them. A failed check, a lost connection or an ended context
// before COMMIT rolls everything back. COMMIT is sent under a context of
// its own, which the caller's cancellation does not cut short, bounded by
// the caller's deadline and [Config].CommitTimeout: a cancel that comes
// while COMMIT is on its way never reports an error for a transaction that
// committed, and a deadline that passes first ends the wait with
// ErrCommitUnknown (the outcome unknown), never with a plain error.
//
// # History
//
// With [Config].History = N > 0, an AFTER UPDATE trigger copies each
// overwritten version into the table's _history table and keeps the newest
// N per key; [Store.GetAt] reads both tables in one query.
//
// # Failures
//
// With Config.SkipSchema, New checks in one query that the tables exist
// and names the missing ones and schema.sql otherwise.
//
// Errors wrap the store package's sentinels, or the pgx error prefixed with
// "postgres:" and the operation. A context that ends mid-call makes the call
// return an error wrapping ctx.Err(), but pgx then only drops the
// connection: a single write the server was already running may still be
// applied, whole. A Commit that fails committed nothing, unless its error
// wraps [ErrCommitUnknown]: ctx ending before COMMIT rolls back, and once
// COMMIT is sent Commit waits for its reply. Only a COMMIT that got no
// reply (the connection lost after it was sent, ctx's deadline or
// Config.CommitTimeout passed) leaves the outcome unknown: the transaction
// may have committed, whole, or not at all.
//
// Versions and values read back are checked: a version that is negative
// or above [merge.MaxVersion], or a value longer than
// [Config].MaxValueSize, was not written by this store and is an error
// wrapping [store.ErrInvalid], not a value; no Set or Delete moves such a
// version.
package postgres
