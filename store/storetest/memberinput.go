package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/warpcache/warp/store"
)

// memberCall is one Membership method, or a guarded write, applied to a
// cluster, node and incarnation, for the bad-input tables.
type memberCall struct {
	name string
	fn   func(ctx context.Context, s store.Store[[]byte], cluster, node string, inc uint64) error
}

var memberCalls = []memberCall{
	{"Join", func(ctx context.Context, s store.Store[[]byte], cluster, node string, inc uint64) error {
		_, err := s.(store.Membership).Join(ctx, cluster, node, inc)
		return err
	}},
	{"Renew", func(ctx context.Context, s store.Store[[]byte], cluster, node string, inc uint64) error {
		_, err := s.(store.Membership).Renew(ctx, cluster, node, inc)
		return err
	}},
	{"Expel", func(ctx context.Context, s store.Store[[]byte], cluster, node string, inc uint64) error {
		_, err := s.(store.Membership).Expel(ctx, cluster, store.Member{Node: node, Incarnation: inc})
		return err
	}},
	{"Leave", func(ctx context.Context, s store.Store[[]byte], cluster, node string, inc uint64) error {
		return s.(store.Membership).Leave(ctx, cluster, node, inc)
	}},
	{"GuardedSet", func(ctx context.Context, s store.Store[[]byte], cluster, node string, inc uint64) error {
		_, err := s.Set(ctx, "k", []byte("v"), store.Write{Guard: store.Guard{Cluster: cluster, Node: node, Incarnation: inc}})
		return err
	}},
	{"GuardedCommit", func(ctx context.Context, s store.Store[[]byte], cluster, node string, inc uint64) error {
		c, ok := s.(store.Committer[[]byte])
		if !ok {
			return errSkip
		}
		g := store.Guard{Cluster: cluster, Node: node, Incarnation: inc}
		_, err := c.Commit(ctx, []op{opSet("other", "x", store.Write{}), opSet("k", "v", store.Write{Guard: g})})
		return err
	}},
}

func testMembershipInput(t *testing.T, h Harness) {
	long := strings.Repeat("n", store.MaxIDLen)
	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		m := membership(t, s)
		tests := []struct {
			name, cluster, node string
			inc                 uint64
		}{
			{"EmptyCluster", "", "n", 1},
			{"EmptyNode", "c", "", 1},
			{"LongCluster", long + "c", "n", 1},
			{"LongNode", "c", long + "n", 1},
			{"NULInNode", "c", "a\x00b", 1},
			{"NotUTF8", "c\xff", "n", 1},
			{"ZeroIncarnation", "c", "n", 0},
			{"HugeIncarnation", "c", "n", store.MaxIncarnation + 1},
		}
		for _, tc := range tests {
			for _, c := range memberCalls {
				if c.name == "Join" && tc.name == "ZeroIncarnation" {
					continue // Join's min may be 0
				}
				if err := c.fn(t.Context(), s, tc.cluster, tc.node, tc.inc); err != errSkip {
					wantIs(t, tc.name+": "+c.name, err, store.ErrInvalid)
					h.wantPrefix(t, tc.name+": "+c.name, err)
				}
			}
		}
		for _, g := range []store.Guard{{Cluster: "c"}, {Incarnation: 1}, {Cluster: "c", Incarnation: 1}} {
			_, err := s.Set(t.Context(), "k", []byte("v"), store.Write{Guard: g})
			wantIs(t, "Set with a guard without a node", err, store.ErrInvalid)
		}
		nothingWritten(t, s)
		if inc := join(t, m, "c", "n", 0); inc != 1 {
			t.Fatalf("Join after rejected calls = %d; want 1 (no Join applied)", inc)
		}
	})
	t.Run("LongestIDs", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		m := membership(t, s)
		inc := join(t, m, long, long, 0)
		wantMembers(t, renew(t, m, long, long, inc), store.Member{Node: long, Incarnation: inc, Counter: 1})
		set(t, s, "k", "v", store.Write{Guard: store.Guard{Cluster: long, Node: long, Incarnation: inc}})
		expel(t, m, long, store.Member{Node: long, Incarnation: inc, Counter: 1}, true)
		inc = join(t, m, long, "ключ/键", store.MaxIncarnation-1)
		if inc != store.MaxIncarnation-1 {
			t.Fatalf("Join(min MaxIncarnation-1) = %d; want %d", inc, uint64(store.MaxIncarnation-1))
		}
		if inc := join(t, m, long, "ключ/键", 0); inc != store.MaxIncarnation {
			t.Fatalf("Join after MaxIncarnation-1 = %d; want MaxIncarnation", inc)
		}
		_, err := m.Join(t.Context(), long, "other", 0)
		wantIs(t, "Join past MaxIncarnation", err, store.ErrInvalid)
		h.wantPrefix(t, "Join past MaxIncarnation", err)
	})
	t.Run("CancelledContext", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		m := membership(t, s)
		inc := join(t, m, "c", "a", 1)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, c := range memberCalls {
			if err := c.fn(ctx, s, "c", "a", inc); err != errSkip {
				wantIs(t, c.name, err, context.Canceled)
				h.wantPrefix(t, c.name, err)
			}
		}
		// Nothing happened: a is still there, not renewed, alone.
		wantMembers(t, renew(t, m, "c", "a", inc), store.Member{Node: "a", Incarnation: inc, Counter: 1})
		nothingWritten(t, s)
	})
}
