package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

// maxGuardedWrites bounds the writes of one writer in one round of
// testExpelStopsWrites: it stops at its first ErrNotMember, and fails if
// it never gets one (the removal never took effect).
const maxGuardedWrites = 100_000

// removals are the calls that end a member's record g: each must return
// only after every write guarded by g that was in flight has ended.
var removals = []struct {
	name   string
	remove func(t *testing.T, m store.Membership, g store.Guard)
}{
	{"Expel", func(t *testing.T, m store.Membership, g store.Guard) {
		expel(t, m, g.Cluster, store.Member{Node: g.Node, Incarnation: g.Incarnation}, true)
	}},
	{"Leave", func(t *testing.T, m store.Membership, g store.Guard) {
		leave(t, m, g.Cluster, g.Node, g.Incarnation)
	}},
	{"Join", func(t *testing.T, m store.Membership, g store.Guard) {
		if inc := join(t, m, g.Cluster, g.Node, 0); inc <= g.Incarnation {
			t.Fatalf("Join(%q, %q, 0) replacing incarnation %d = %d; want a larger one", g.Cluster, g.Node, g.Incarnation, inc)
		}
	}},
}

// testExpelStopsWrites checks the promise that makes a guard worth having,
// for each of the removals (Expel, Leave, and a Join that replaces the
// record): in each round, writers hammer one key with writes guarded by a
// member (a Set or, on a Committer, a two-key commit), and the member's
// record is removed while they run. Once the removal returned, every write
// that succeeded must be visible (its version at most the version read
// right after the removal), and every write that started after the
// removal returned must fail with ErrNotMember. A store that checks the
// guard outside the write's atomic step, or whose removal does not wait
// for the writes in flight, lets a write land after the removal returned,
// which the first check catches.
func testExpelStopsWrites(t *testing.T, h Harness) {
	for _, r := range removals {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			removalStopsWrites(t, h, r.name, r.remove)
		})
	}
}

// removalStopsWrites is testExpelStopsWrites for one removal, named name.
func removalStopsWrites(t *testing.T, h Harness, name string, remove func(*testing.T, store.Membership, store.Guard)) {
	s := h.New(t)
	m := membership(t, s)
	c, _ := s.(store.Committer[[]byte])
	for round := range h.rounds() {
		g := store.Guard{Cluster: "c", Node: "w", Incarnation: join(t, m, "c", "w", 1)}
		var removed atomic.Bool
		var running sync.WaitGroup // the writers until their first success
		running.Add(h.workers())
		wrote := make([][]merge.Version, h.workers())
		errs := make([]error, h.workers())
		var wg sync.WaitGroup
		for w := range h.workers() {
			wg.Go(func() {
				started := false
				defer func() {
					if !started {
						running.Done()
					}
				}()
				for i := range maxGuardedWrites {
					late := removed.Load()
					v, err := guardedWrite(t, s, c, w, i, g)
					if errors.Is(err, store.ErrNotMember) {
						return
					}
					if err != nil {
						errs[w] = err
						return
					}
					if late {
						errs[w] = fmt.Errorf("a write that started after %s returned was applied at version %d", name, v)
						return
					}
					wrote[w] = append(wrote[w], v)
					if !started {
						started = true
						running.Done()
					}
				}
				errs[w] = fmt.Errorf("still a member after %d guarded writes: %s never took effect", maxGuardedWrites, name)
			})
		}
		running.Wait()
		remove(t, m, g)
		removed.Store(true)
		after := version(t, s, "k")
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for w, vs := range wrote {
			for _, v := range vs {
				if v > after {
					t.Fatalf("round %d: writer %d's guarded write was applied at %d, after %s returned (version then %d)", round, w, v, name, after)
				}
			}
		}
	}
}

// guardedWrite is writer w's i-th write to key k: a Set, or on a Committer
// every other writer's commit of k and a key of its own. It returns the
// version k got.
func guardedWrite(t *testing.T, s store.Store[[]byte], c store.Committer[[]byte], w, i int, g store.Guard) (merge.Version, error) {
	val := fmt.Appendf(nil, "%d/%d", w, i)
	if c == nil || w%2 == 0 {
		return s.Set(t.Context(), "k", val, store.Write{Guard: g})
	}
	vs, err := c.Commit(t.Context(), []op{
		{Kind: store.OpSet, Key: fmt.Sprintf("k%d", w), Value: val, Write: store.Write{Guard: g}},
		{Kind: store.OpSet, Key: "k", Value: val, Write: store.Write{Guard: g}},
	})
	if err != nil {
		return 0, err
	}
	return vs[1], nil
}
