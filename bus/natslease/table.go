package natslease

import (
	"container/heap"
	"slices"
	"strings"
	"sync"
	"time"
)

// table is a node's view of the bucket: the leases its watcher has seen,
// their attached keys, and the leases that ended recently (tombstones).
// Only the watcher goroutine writes it.
//
// Every count is bounded, since any client can write the bucket: keys per
// lease by maxKeys, leases and tombstones each by maxLeases. Past
// maxLeases (if drop) the table tracks no new lease: the key of an
// attachment of a lease it does not track is revoked at once, and the
// lease is noted in refused, whose ends flush (see sighting). Without
// drop, there is no Flush to fall back on, and only tombstones are
// bounded.
type table struct {
	now       func() time.Time // the clock of tombstone expiry (a test seam)
	linger    time.Duration    // how long a tombstone outlives the lease's TTL: the marker TTL
	deftTTL   time.Duration    // TTL assumed for a lease whose entry was never seen
	maxKeys   int              // keys kept per lease: Config.MaxAttachments
	maxLeases int              // leases tracked, and tombstones kept: Config.MaxLeases
	drop      bool             // past maxKeys or maxLeases, drop keys (their leases' ends flush)

	mu      sync.Mutex             // guards the fields below
	leases  map[string]*leaseState // leases seen and not ended, and pending ones
	tombs   map[string]struct{}    // ended leases, until their tombstone expires
	queue   tombQueue              // tombs, the soonest to expire first (a heap)
	crowded bool                   // a lease came past maxLeases once
	refused *idFilter              // leases with a key revoked at once, untracked; nil until one
}

// leaseState is one lease as the watcher knows it.
type leaseState struct {
	live  bool                // its lease entry was seen
	ttl   time.Duration       // from its lease entry; 0 if not seen
	keys  map[string]struct{} // attached keys; never shrinks while the lease lives, unless over
	over  bool                // more than maxKeys keys seen; if drop, keys is nil from then on
	lossy bool                // tracked after a key of it was refused (maybe): keys may lack it
}

// sight is what the table made of an attachment entry.
type sight struct {
	ended   bool // the lease has ended (a tombstone): nothing recorded
	live    bool // the lease's entry has been seen
	refused bool // the lease is not tracked (past maxLeases): nothing recorded, its end flushes
	over    bool // this key took the lease past maxKeys
	crowded bool // this entry was the first past maxLeases
}

// ending is what the end of a lease revokes on this node.
type ending struct {
	id   string
	keys []string // the keys seen attached, sorted
	all  bool     // keys of the lease were dropped (past maxKeys, or refused): flush
}

// tomb is one ended lease, forgotten after until.
type tomb struct {
	id    string
	until time.Time
}

// tombQueue is a min-heap of tombs by until: leases end with TTLs of their
// own, so the order of ending is not the order of expiry, and one long
// TTL at the head of a queue in ending order would keep every later tomb.
type tombQueue []tomb

func (q tombQueue) Len() int           { return len(q) }
func (q tombQueue) Less(i, j int) bool { return q[i].until.Before(q[j].until) }
func (q tombQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *tombQueue) Push(x any)        { *q = append(*q, x.(tomb)) }
func (q *tombQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// newTable returns an empty table that keeps maxKeys keys per lease and
// maxLeases leases and tombstones and, if drop, drops a lease's keys past
// them.
func newTable(now func() time.Time, linger, defTTL time.Duration, maxKeys, maxLeases int, drop bool) table {
	return table{now: now, linger: linger, deftTTL: defTTL, maxKeys: maxKeys, maxLeases: maxLeases, drop: drop,
		leases: map[string]*leaseState{}, tombs: map[string]struct{}{}}
}

// forgetLeases forgets every lease and its keys, for a new watch whose
// replay tracks them again; the tombstones and the refused ids stay.
func (t *table) forgetLeases() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.leases = map[string]*leaseState{}
}

// sighting records that key is attached to id (an attachment entry or its
// marker). For a lease that has ended it records nothing.
//
// For a lease it does not track, past maxLeases, it records nothing but
// id in refused, and the caller revokes key at once. The node can cache
// that key again afterwards, so the lease's end must still drop it: the
// end of a lease in refused flushes, whether the table has tracked the
// lease since (it has room again, and another key came) or not. Refused
// is never cleared: the lease can end at any time within its TTL, up to
// MaxTTL, or later if kept alive, and this node may never have read that
// TTL, nor know which of the leases refused have ended. It holds the ids
// in a fixed set of bits (a Bloom filter), so that untracked entries cost
// no memory each; an id it reports wrongly costs a needless flush.
func (t *table) sighting(id, key string) (v sight) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.tombs[id]; ok {
		return sight{ended: true}
	}
	s, crowded := t.state(id)
	if s == nil {
		if t.refused == nil {
			t.refused = newIDFilter(t.maxLeases)
		}
		t.refused.add(id)
		return sight{refused: true, crowded: crowded}
	}
	v = sight{live: s.live, crowded: crowded}
	if _, seen := s.keys[key]; seen || s.over && t.drop {
		return v
	}
	if len(s.keys) >= t.maxKeys && !s.over {
		s.over, v.over = true, true
		if t.drop {
			s.keys = nil
			return v
		}
	}
	if s.keys == nil {
		s.keys = map[string]struct{}{}
	}
	s.keys[key] = struct{}{}
	return v
}

// full reports whether attaching key to id would take it past maxKeys.
func (t *table) full(id, key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.leases[id]
	if s == nil {
		return false
	}
	_, seen := s.keys[key]
	return s.over || !seen && len(s.keys) >= t.maxKeys
}

// grant records a lease entry of id with its TTL. Past maxLeases, it
// records nothing: the attachments of id, if any, are refused in turn
// (see sighting). crowded reports that this entry was the first past
// maxLeases.
func (t *table) grant(id string, ttl time.Duration) (crowded bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.tombs[id]; ok {
		return false // an ended lease is never refreshed; a stale entry
	}
	s, crowded := t.state(id)
	if s != nil {
		s.live, s.ttl = true, ttl
	}
	return crowded
}

// end forgets id, leaving a tombstone, and returns what its end revokes;
// first is false if id had already ended, known is false if id was never
// seen.
func (t *table) end(id string) (e ending, first, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune()
	if _, ended := t.tombs[id]; ended {
		return ending{id: id}, false, false
	}
	s := t.leases[id]
	return t.bury(id, s), true, s != nil
}

// endPending ends id as end does if it is pending: seen in attachments
// only, neither its lease entry nor its end. ok is false otherwise.
func (t *table) endPending(id string) (e ending, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune()
	s := t.leases[id]
	if s == nil || s.live {
		return ending{id: id}, false
	}
	return t.bury(id, s), true
}

// bury forgets id, whose state is s (nil if not tracked), and leaves a
// tombstone. The end flushes (all) if keys of id were dropped: past
// maxKeys, or refused (see sighting). t.mu is held.
func (t *table) bury(id string, s *leaseState) ending {
	e := ending{id: id, all: t.refused != nil && t.refused.has(id)}
	ttl := t.deftTTL
	if s != nil {
		delete(t.leases, id)
		e.keys, e.all = sortedKeys(s.keys), s.over && t.drop || s.lossy
		ttl = max(ttl, s.ttl)
	}
	// Attachments of id can show up until their TTL, about the lease's,
	// runs out, and their markers for linger more. Past maxLeases, the
	// tombstone due soonest is forgotten now: without it, a late
	// attachment is read (resolved) or refused, a second end reported
	// again; all safe.
	if len(t.tombs) >= t.maxLeases {
		delete(t.tombs, heap.Pop(&t.queue).(tomb).id)
	}
	id = strings.Clone(id)
	t.tombs[id] = struct{}{}
	heap.Push(&t.queue, tomb{id: id, until: t.now().Add(ttl + t.linger)})
	return e
}

// prune forgets the tombstones whose time has passed.
func (t *table) prune() {
	now := t.now()
	for len(t.queue) > 0 && now.After(t.queue[0].until) {
		delete(t.tombs, heap.Pop(&t.queue).(tomb).id)
	}
}

// orphans returns the ids of the entries that are not live: attachments
// whose lease entry was not in the replay.
func (t *table) orphans() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ids []string
	for id, s := range t.leases {
		if !s.live {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// keys returns the keys of live lease id, sorted; nil if the keys were
// dropped past maxKeys, or if id is not tracked.
func (t *table) keys(id string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.leases[id]; s != nil && s.live {
		return sortedKeys(s.keys)
	}
	return nil
}

// state returns id's entry, creating a pending one, or nil if the table
// tracks maxLeases leases and drops the ones past them. crowded reports
// that id is the first lease past maxLeases. A new entry of a lease
// refused before may lack keys revoked then: its end flushes (lossy).
// t.mu is held.
func (t *table) state(id string) (s *leaseState, crowded bool) {
	if s = t.leases[id]; s != nil {
		return s, false
	}
	if len(t.leases) >= t.maxLeases {
		crowded, t.crowded = !t.crowded, true
		if t.drop {
			return nil, crowded
		}
	}
	s = &leaseState{lossy: t.refused != nil && t.refused.has(id)}
	t.leases[strings.Clone(id)] = s // not the entry's key it was cut from: up to 1.4 KB
	return s, crowded
}

func sortedKeys(m map[string]struct{}) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
