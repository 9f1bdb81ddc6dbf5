package natslease

import (
	"container/heap"
	"slices"
	"sync"
	"time"
)

// table is a node's view of the bucket: the leases its watcher has seen,
// their attached keys, and the leases that ended recently (tombstones).
// Only the watcher goroutine writes it.
type table struct {
	now     func() time.Time // the clock of tombstone expiry (a test seam)
	linger  time.Duration    // how long a tombstone outlives the lease's TTL: the marker TTL
	deftTTL time.Duration    // TTL assumed for a lease whose entry was never seen
	maxKeys int              // keys kept per lease: Config.MaxAttachments
	drop    bool             // past maxKeys, drop a lease's keys (its end flushes)

	mu     sync.Mutex             // guards leases, tombs and queue
	leases map[string]*leaseState // leases seen and not ended, and pending ones
	tombs  map[string]struct{}    // ended leases, until their tombstone expires
	queue  tombQueue              // tombs, the soonest to expire first (a heap)
}

// leaseState is one lease as the watcher knows it.
type leaseState struct {
	live bool                // its lease entry was seen
	ttl  time.Duration       // from its lease entry; 0 if not seen
	keys map[string]struct{} // attached keys; never shrinks while the lease lives, unless over
	over bool                // more than maxKeys keys seen; if drop, keys is nil from then on
}

// ending is what the end of a lease revokes on this node.
type ending struct {
	id   string
	keys []string // the keys seen attached, sorted
	all  bool     // the lease overflowed and its keys were dropped: flush
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

// newTable returns an empty table that keeps maxKeys keys per lease and,
// if drop, drops a lease's keys past them.
func newTable(now func() time.Time, linger, defTTL time.Duration, maxKeys int, drop bool) table {
	return table{now: now, linger: linger, deftTTL: defTTL, maxKeys: maxKeys, drop: drop,
		leases: map[string]*leaseState{}, tombs: map[string]struct{}{}}
}

// sighting records that key is attached to id (an attachment entry or its
// marker). For a lease that has ended it records nothing and reports
// ended; live reports whether id's lease entry has been seen; over
// reports that this key took the lease past maxKeys.
func (t *table) sighting(id, key string) (ended, live, over bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.tombs[id]; ok {
		return true, false, false
	}
	s := t.state(id)
	if _, seen := s.keys[key]; seen || s.over && t.drop {
		return false, s.live, false
	}
	if len(s.keys) >= t.maxKeys && !s.over {
		s.over, over = true, true
		if t.drop {
			s.keys = nil
			return false, s.live, true
		}
	}
	if s.keys == nil {
		s.keys = map[string]struct{}{}
	}
	s.keys[key] = struct{}{}
	return false, s.live, over
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

// grant records a lease entry of id with its TTL.
func (t *table) grant(id string, ttl time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.tombs[id]; ok {
		return // an ended lease is never refreshed; a stale entry
	}
	s := t.state(id)
	s.live, s.ttl = true, ttl
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

// bury forgets id, whose state is s (nil if never seen), and leaves a
// tombstone. t.mu is held.
func (t *table) bury(id string, s *leaseState) ending {
	e := ending{id: id}
	ttl := t.deftTTL
	if s != nil {
		delete(t.leases, id)
		e.keys, e.all = sortedKeys(s.keys), s.over && t.drop
		ttl = max(ttl, s.ttl)
	}
	// Attachments of id can show up until their TTL, about the lease's,
	// runs out, and their markers for linger more.
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
// dropped past maxKeys.
func (t *table) keys(id string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.leases[id]; s != nil && s.live {
		return sortedKeys(s.keys)
	}
	return nil
}

// state returns id's entry, creating a pending one.
func (t *table) state(id string) *leaseState {
	s := t.leases[id]
	if s == nil {
		s = &leaseState{}
		t.leases[id] = s
	}
	return s
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
