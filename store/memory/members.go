package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/internal/check"
)

// members is the membership of every cluster of a Store.
type members struct {
	clusters sync.Map // cluster name → *cluster
}

// cluster is one cluster's membership. A guarded write holds mu's read
// side from its membership check to the end of its write; Join, Expel and
// Leave hold the write side, so they wait for the guarded writes in
// flight, and once Expel returns no write of the removed record is.
// Renew changes only a counter, which no write reads: it holds mu's read
// side, so that it neither waits for the guarded writes nor holds them
// off, and renew, so that Renews still happen one at a time.
// A cluster is never dropped, so that top survives its members.
type cluster struct {
	mu sync.RWMutex // guards nodes, top and the records (counters: see renew)
	// renew is held by Renew, with mu's read side: a counter changes under
	// both, and is read under renew or mu's write side.
	renew sync.Mutex
	nodes map[string]*store.Member
	top   uint64 // the largest incarnation issued
}

// get returns the named cluster, creating it if create is set (nil if not
// and there is none).
func (ms *members) get(name string, create bool) *cluster {
	if c, ok := ms.clusters.Load(name); ok {
		return c.(*cluster)
	}
	if !create {
		return nil
	}
	c, _ := ms.clusters.LoadOrStore(name, &cluster{nodes: map[string]*store.Member{}})
	return c.(*cluster)
}

// Join implements [store.Membership].
func (s *Store[T]) Join(ctx context.Context, cluster, node string, min uint64) (uint64, error) {
	if err := check.Call(ctx, "memory", "join", check.IDs(cluster, node), check.Min(min)); err != nil {
		return 0, err
	}
	c := s.members.get(cluster, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes[node] == nil && len(c.nodes) >= store.MaxMembers {
		return 0, fmt.Errorf("memory: join %q: cluster %q has %d members: %w", node, cluster, len(c.nodes), store.ErrTooLarge)
	}
	inc, err := check.Next(min, c.top)
	if err != nil {
		return 0, fmt.Errorf("memory: join %q: %w", node, err)
	}
	c.top = inc
	c.nodes[node] = &store.Member{Node: node, Incarnation: inc}
	return inc, nil
}

// Renew implements [store.Membership].
func (s *Store[T]) Renew(ctx context.Context, cluster, node string, incarnation uint64) ([]store.Member, error) {
	if err := check.Call(ctx, "memory", "renew", check.Member(cluster, node, incarnation)); err != nil {
		return nil, err
	}
	self := store.Guard{Cluster: cluster, Node: node, Incarnation: incarnation}
	c := s.members.get(cluster, false)
	if c == nil {
		return nil, notMember("renew", self)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	c.renew.Lock()
	defer c.renew.Unlock()
	var err error
	if m := c.nodes[node]; m != nil && m.Incarnation == incarnation {
		m.Counter++
	} else {
		err = notMember("renew", self)
	}
	out := make([]store.Member, 0, len(c.nodes))
	for _, m := range c.nodes {
		out = append(out, *m)
	}
	return out, err
}

// Expel implements [store.Membership].
func (s *Store[T]) Expel(ctx context.Context, cluster string, m store.Member) (bool, error) {
	if err := check.Call(ctx, "memory", "expel", check.Member(cluster, m.Node, m.Incarnation)); err != nil {
		return false, err
	}
	return s.remove(cluster, m, true), nil
}

// Leave implements [store.Membership].
func (s *Store[T]) Leave(ctx context.Context, cluster, node string, incarnation uint64) error {
	if err := check.Call(ctx, "memory", "leave", check.Member(cluster, node, incarnation)); err != nil {
		return err
	}
	s.remove(cluster, store.Member{Node: node, Incarnation: incarnation}, false)
	return nil
}

// remove deletes m's record if it holds m.Incarnation (and m.Counter if
// counter is set), once the guarded writes in flight have ended.
func (s *Store[T]) remove(cluster string, m store.Member, counter bool) bool {
	c := s.members.get(cluster, false)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.nodes[m.Node]
	if cur == nil || cur.Incarnation != m.Incarnation || counter && cur.Counter != m.Counter {
		return false
	}
	delete(c.nodes, m.Node)
	return true
}

// enter checks guards (distinct and sorted, as check.Guards returns them)
// and holds the read side of their clusters' locks (each once, in name
// order) until the returned clusters are passed to leave. With no guard it
// returns nil and holds nothing.
func (s *Store[T]) enter(op string, guards []store.Guard) ([]*cluster, error) {
	var held []*cluster
	for i, g := range guards {
		if i > 0 && g.Cluster == guards[i-1].Cluster {
			if !held[len(held)-1].holds(g) {
				leave(held)
				return nil, notMember(op, g)
			}
			continue
		}
		c, err := s.enterOne(op, g)
		if err != nil {
			leave(held)
			return nil, err
		}
		held = append(held, c)
	}
	return held, nil
}

// enterOne checks guard g and holds the read side of its cluster's lock,
// which the caller releases.
func (s *Store[T]) enterOne(op string, g store.Guard) (*cluster, error) {
	c := s.members.get(g.Cluster, false)
	if c == nil {
		return nil, notMember(op, g)
	}
	c.mu.RLock()
	if !c.holds(g) {
		c.mu.RUnlock()
		return nil, notMember(op, g)
	}
	return c, nil
}

// holds reports whether g's node has a record under g's incarnation; the
// caller holds c.mu.
func (c *cluster) holds(g store.Guard) bool {
	m := c.nodes[g.Node]
	return m != nil && m.Incarnation == g.Incarnation
}

// leave releases what enter holds.
func leave(held []*cluster) {
	for _, c := range held {
		c.mu.RUnlock()
	}
}

func notMember(op string, g store.Guard) error {
	return fmt.Errorf("memory: %s: %w", op, check.NotMember(g))
}

var _ store.Membership = (*Store[int])(nil)
