package messages

import "github.com/warpcache/warp/merge"

// Install stores an entry written by this node. Entry is the shard entry
// header followed by the encoded value; the shard owns it from now on. Gen
// is the key's fill generation read before the store write: if it moved
// since (another write or an invalidation, which may be newer than this
// write), the shard drops its cached copy instead of installing, so that the
// next read loads the store's value. The entry never replaces a newer
// version.
type Install struct {
	Key   string
	Entry []byte
	Gen   uint64
	Reply *Reply
}

// Fill stores an entry loaded from the store after a miss. It is installed
// only if no write or invalidation of the key happened since the loader read
// generation Gen (guarantee "no stale fill") and the shard holds nothing
// newer.
type Fill struct {
	Key   string
	Entry []byte
	Gen   uint64
	Reply *Reply
}

// Invalidate drops the key's cached copy. A non-zero Version drops it only
// if the cached copy is older than Version, so that a late event never
// removes a newer value. Reply may be nil.
type Invalidate struct {
	Key     string
	Version merge.Version
	Reply   *Reply
}

// InvalidatePrefix drops every cached key that starts with Prefix.
type InvalidatePrefix struct {
	Prefix string
	Reply  *Reply
}

// Flush drops every cached entry of the shard. If Keep is set, an entry
// for which Keep reports true is kept instead, but expires no later than
// the returned time (node-clock nanoseconds): the serve-stale repair policy.
type Flush struct {
	Keep  func(key string) (until int64, keep bool)
	Reply *Reply
}

// Promote asks the shard to copy a key it holds into its decoded hot tier.
type Promote struct {
	Key string
}

// Sweep asks the shard to drop up to Budget expired entries. Now is the
// node clock's reading in nanoseconds.
type Sweep struct {
	Now    int64
	Budget int
}

// LockKey asks for the key's write lock; the reply arrives when it is
// granted. Writes that read before they write (merges) hold it so that no
// update is lost.
type LockKey struct {
	Key   string
	Reply *Reply
}

// UnlockKey releases a lock granted by LockKey in generation Gen.
type UnlockKey struct {
	Key string
	Gen uint64
}

// AbandonLock withdraws Request, a LockKey whose sender stopped waiting:
// a request still queued leaves the queue unanswered; a request granted
// meanwhile releases the lock, as UnlockKey would. Nobody waits for an
// answer.
type AbandonLock struct {
	Key     string
	Request *LockKey
}

// Fence adds (or, with Release, removes) one in-flight StrongDistributed
// write's token on Key. While a key holds any live token, the shard caches
// no version of it: adding a token drops the cached copy, and installs and
// fills are refused until every token is released or has passed Until
// (node-clock nanoseconds). Both moves bump the key's fill generation, so
// a load that began under a fence never installs after it.
type Fence struct {
	Key     string
	Token   merge.Version
	Until   int64
	Release bool
	Reply   *Reply
}

// TxnFence fences every key of a transaction held by this shard with the
// transaction's token (as Fence does for one key), in one message.
type TxnFence struct {
	Keys  []string
	Token merge.Version
	Until int64
	Reply *Reply
}

// TxnCommit ends a transaction on this shard: for each key it releases the
// token and, where Entries[i] is not nil, installs the committed entry, in
// one message, so no reader sees the key fenced and then without its new
// value in between. Gens[i] is the fill generation of Keys[i]'s stripe read
// after the fence was taken and before the store commit: if it moved since
// (a write or an invalidation of the key, or of another key of its stripe,
// during the fence, which may be newer than the transaction), Entries[i]
// is not installed and the next read loads the key. A missing Gens[i]
// installs nothing.
type TxnCommit struct {
	Keys    []string
	Entries [][]byte
	Gens    []uint64
	Token   merge.Version
	Reply   *Reply
}
