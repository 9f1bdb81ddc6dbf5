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

	mu     sync.Mutex             // guards leases, tombs and queue
	leases map[string]*leaseState // leases seen and not ended, and pending ones
	tombs  map[string]struct{}    // ended leases, until their tombstone expires
	queue  tombQueue              // tombs, the soonest to expire first (a heap)
}

// leaseState is one lease as the watcher knows it.
type leaseState struct {
	live bool                // its lease entry was seen
	ttl  time.Duration       // from its lease entry; 0 if not seen
	keys map[string]struct{} // attached keys; never shrinks while the lease lives
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

func newTable(now func() time.Time, linger, defTTL time.Duration) table {
	return table{now: now, linger: linger, deftTTL: defTTL,
		leases: map[string]*leaseState{}, tombs: map[string]struct{}{}}
}

// sighting records that key is attached to id (an attachment entry or its
// marker). For a lease that has ended it records nothing and reports
// ended; live reports whether id's lease entry has been seen.
func (t *table) sighting(id, key string) (ended, live bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.tombs[id]; ok {
		return true, false
	}
	s := t.state(id)
	if s.keys == nil {
		s.keys = map[string]struct{}{}
	}
	s.keys[key] = struct{}{}
	return false, s.live
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

// end forgets id, leaving a tombstone, and returns its keys; first is
// false if id had already ended, known is false if id was never seen.
func (t *table) end(id string) (keys []string, first, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune()
	if _, ended := t.tombs[id]; ended {
		return nil, false, false
	}
	ttl := t.deftTTL
	s := t.leases[id]
	if s != nil {
		delete(t.leases, id)
		keys = sortedKeys(s.keys)
		ttl = max(ttl, s.ttl)
	}
	// Attachments of id can show up until their TTL, about the lease's,
	// runs out, and their markers for linger more.
	t.tombs[id] = struct{}{}
	heap.Push(&t.queue, tomb{id: id, until: t.now().Add(ttl + t.linger)})
	return keys, true, s != nil
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
