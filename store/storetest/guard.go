package storetest

import (
	"context"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

// guarded is one kind of guarded write, run on a key of its own that
// holds "old" at version old (if the old field is set) or nothing.
type guarded struct {
	name string
	old  bool
	run  func(ctx context.Context, s store.Store[[]byte], key string, old merge.Version, g store.Guard) error
}

var guardedWrites = []guarded{
	{"Set", true, func(ctx context.Context, s store.Store[[]byte], key string, _ merge.Version, g store.Guard) error {
		_, err := s.Set(ctx, key, []byte("new"), store.Write{Guard: g})
		return err
	}},
	{"CreateIfAbsent", false, func(ctx context.Context, s store.Store[[]byte], key string, _ merge.Version, g store.Guard) error {
		_, err := s.Set(ctx, key, []byte("new"), store.Write{Check: true, Guard: g})
		return err
	}},
	{"SwapAndFence", true, func(ctx context.Context, s store.Store[[]byte], key string, old merge.Version, g store.Guard) error {
		_, err := s.Set(ctx, key, []byte("new"), store.Write{Check: true, IfVersion: old, Fence: 3, Min: 1 << 40, Guard: g})
		return err
	}},
	{"Delete", true, func(ctx context.Context, s store.Store[[]byte], key string, _ merge.Version, g store.Guard) error {
		_, err := s.Delete(ctx, key, store.Write{Guard: g})
		return err
	}},
	{"SwapDelete", true, func(ctx context.Context, s store.Store[[]byte], key string, old merge.Version, g store.Guard) error {
		_, err := s.Delete(ctx, key, store.Write{Check: true, IfVersion: old, Guard: g})
		return err
	}},
	{"Commit", true, func(ctx context.Context, s store.Store[[]byte], key string, old merge.Version, g store.Guard) error {
		c, ok := s.(store.Committer[[]byte])
		if !ok {
			return errSkip
		}
		_, err := c.Commit(ctx, []op{
			opSet(key+"/other", "new", store.Write{}), // unguarded, but in the same commit
			opSet(key, "new", store.Write{Check: true, IfVersion: old, Guard: g}),
		})
		return err
	}},
}

func testGuard(t *testing.T, h Harness) {
	// Each scenario returns the guard its writes carry; ok says whether
	// they must apply (else they fail with ErrNotMember).
	scenarios := []struct {
		name  string
		ok    bool
		guard func(t *testing.T, m store.Membership) store.Guard
	}{
		{"Member", true, func(t *testing.T, m store.Membership) store.Guard {
			return store.Guard{Cluster: "c", Node: "a", Incarnation: join(t, m, "c", "a", 1)}
		}},
		{"WrongIncarnation", false, func(t *testing.T, m store.Membership) store.Guard {
			return store.Guard{Cluster: "c", Node: "a", Incarnation: join(t, m, "c", "a", 1) + 1}
		}},
		{"OtherCluster", false, func(t *testing.T, m store.Membership) store.Guard {
			return store.Guard{Cluster: "x", Node: "a", Incarnation: join(t, m, "c", "a", 1)}
		}},
		{"NeverJoined", false, func(t *testing.T, m store.Membership) store.Guard {
			join(t, m, "c", "a", 1)
			return store.Guard{Cluster: "c", Node: "b", Incarnation: 1}
		}},
		{"Expelled", false, func(t *testing.T, m store.Membership) store.Guard {
			inc := join(t, m, "c", "a", 1)
			expel(t, m, "c", store.Member{Node: "a", Incarnation: inc}, true)
			return store.Guard{Cluster: "c", Node: "a", Incarnation: inc}
		}},
		{"Left", false, func(t *testing.T, m store.Membership) store.Guard {
			inc := join(t, m, "c", "a", 1)
			leave(t, m, "c", "a", inc)
			return store.Guard{Cluster: "c", Node: "a", Incarnation: inc}
		}},
		{"Rejoined", false, func(t *testing.T, m store.Membership) store.Guard {
			inc := join(t, m, "c", "a", 1)
			join(t, m, "c", "a", 1)
			return store.Guard{Cluster: "c", Node: "a", Incarnation: inc}
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			s := h.New(t)
			g := sc.guard(t, membership(t, s))
			for _, w := range guardedWrites {
				key := "k/" + w.name
				var old merge.Version
				if w.old {
					old = set(t, s, key, "old", store.Write{})
				}
				err := w.run(t.Context(), s, key, old, g)
				if err == errSkip {
					continue
				}
				if sc.ok {
					if err != nil {
						t.Fatalf("%s guarded by a member: %v", w.name, err)
					}
					if v := version(t, s, key); v <= old {
						t.Fatalf("%s guarded by a member left version %d; want above %d", w.name, v, old)
					}
					continue
				}
				wantIs(t, w.name, err, store.ErrNotMember)
				h.wantPrefix(t, w.name, err)
				if v := version(t, s, key); v != old {
					t.Fatalf("%s refused moved the version from %d to %d", w.name, old, v)
				}
				if w.old {
					mustGet(t, s, key, "old", old)
				}
				if v := version(t, s, key+"/other"); v != 0 {
					t.Fatalf("%s refused wrote %s/other", w.name, key)
				}
			}
		})
	}
	t.Run("CommitInTwoClusters", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		m := membership(t, s)
		c, ok := s.(store.Committer[[]byte])
		if !ok {
			t.Skip("store is not a store.Committer")
		}
		one := store.Guard{Cluster: "one", Node: "a", Incarnation: join(t, m, "one", "a", 1)}
		two := store.Guard{Cluster: "two", Node: "b", Incarnation: join(t, m, "two", "b", 1)}
		ops := []op{opSet("x", "1", store.Write{Guard: two}), opSet("y", "1", store.Write{Guard: one}), opSet("x", "2", store.Write{Guard: one})}
		if _, err := c.Commit(t.Context(), ops); err != nil {
			t.Fatalf("Commit guarded by two members: %v", err)
		}
		leave(t, m, "two", "b", two.Incarnation)
		_, err := c.Commit(t.Context(), ops)
		wantIs(t, "Commit with one guard gone", err, store.ErrNotMember)
		mustGet(t, s, "x", "2", 2)
		mustGet(t, s, "y", "1", 1)
	})
}
