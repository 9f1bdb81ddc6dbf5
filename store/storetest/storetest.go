package storetest

import (
	"testing"

	"github.com/warpcache/warp/store"
)

// Harness describes the store under test.
type Harness struct {
	// New returns a fresh, empty store, isolated from every other store it
	// returned (for instance a table or key prefix of its own), and
	// registers its cleanup with t.Cleanup. Required.
	New func(t *testing.T) store.Store[[]byte]
	// MaxKeyLen is the longest key in bytes the store accepts; a longer
	// key must fail with store.ErrTooLarge. 0: unlimited, not checked.
	MaxKeyLen int
	// MaxValueSize is the largest encoded value in bytes the store accepts;
	// a larger one must fail with store.ErrTooLarge. 0: unlimited.
	MaxValueSize int
	// History is how many older versions of a key a store.Historian keeps
	// (ignored if the store is not one).
	History int
	// Workers is how many goroutines the concurrency tests run; 0 means 8.
	Workers int
	// Rounds scales the concurrency tests (rounds of compare-and-swap,
	// increments per worker); 0 means 20.
	Rounds int
	// Prefix starts the text of every error the store returns, the
	// adapter's package name and a colon ("memory:"); empty: not checked.
	Prefix string
}

func (h Harness) workers() int { return cmpOr(h.Workers, 8) }
func (h Harness) rounds() int  { return cmpOr(h.Rounds, 20) }

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// group is one named part of the contract.
type group struct {
	name string
	run  func(t *testing.T, h Harness)
}

var groups = []group{
	{"Basic", testBasic},
	{"CAS", testCAS},
	{"Fence", testFence},
	{"Scan", testScan},
	{"Commit", testCommit},
	{"Concurrent", testConcurrent},
	{"Limits", testLimits},
	{"History", testHistory},
	{"VersionBounds", testVersionBounds},
	{"Membership", testMembership},
	{"MembershipInput", testMembershipInput},
	{"Guard", testGuard},
	{"ExpelStopsWrites", testExpelStopsWrites},
}

// Run runs the whole contract suite against the stores h builds.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("storetest: Harness.New is nil")
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, h)
		})
	}
}

// subtests runs each case of a group as a parallel subtest with its own
// store.
func subtests(t *testing.T, h Harness, cases map[string]func(t *testing.T, s store.Store[[]byte])) {
	t.Helper()
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, h.New(t))
		})
	}
}
