package merge_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/warpcache/warp/merge"
)

// lawIterations is how many random triples each merge law is checked on.
const lawIterations = 2000

// checkLaws checks that join is commutative, associative and idempotent on
// lawIterations random states drawn by gen from a seeded source.
func checkLaws[S any](t *testing.T, gen func(*rand.Rand) S, join func(a, b S) S, equal func(a, b S) bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range lawIterations {
		a, b, c := gen(r), gen(r), gen(r)
		if got, want := join(a, b), join(b, a); !equal(got, want) {
			t.Fatalf("iteration %d: a⊔b = %v; want b⊔a = %v", i, got, want)
		}
		if got, want := join(join(a, b), c), join(a, join(b, c)); !equal(got, want) {
			t.Fatalf("iteration %d: (a⊔b)⊔c = %v; want a⊔(b⊔c) = %v", i, got, want)
		}
		if got := join(a, a); !equal(got, a) {
			t.Fatalf("iteration %d: a⊔a = %v; want a = %v", i, got, a)
		}
		if ab := join(a, b); !equal(join(ab, b), ab) {
			t.Fatalf("iteration %d: (a⊔b)⊔b = %v; want a⊔b = %v", i, join(ab, b), ab)
		}
	}
}

// converge runs three replicas that apply random ops and send their states
// to each other in a random order, then exchange all states, and checks
// that every replica ends equal. It returns the final state.
func converge[S any](t *testing.T, seed uint64, zero S, op func(r *rand.Rand, replica int, s S) S, join func(a, b S) S, equal func(a, b S) bool) S {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	reps := []S{zero, zero, zero}
	for range 3000 {
		i := r.IntN(len(reps))
		if r.IntN(3) == 0 {
			j := r.IntN(len(reps))
			reps[j] = join(reps[j], reps[i])
			continue
		}
		reps[i] = op(r, i, reps[i])
	}
	for _, i := range r.Perm(len(reps)) {
		for _, j := range r.Perm(len(reps)) {
			reps[j] = join(reps[j], reps[i])
		}
	}
	for _, i := range r.Perm(len(reps)) {
		for _, j := range r.Perm(len(reps)) {
			reps[j] = join(reps[j], reps[i])
		}
	}
	for i := range reps {
		if !equal(reps[i], reps[0]) {
			t.Fatalf("replica %d = %v; want replica 0 = %v", i, reps[i], reps[0])
		}
	}
	return reps[0]
}

// casStore is a one-key fake of a store with compare-and-swap on a version,
// as Warp's stores have. It keeps the value itself, not an encoding, so a
// merge function that modified its current value would corrupt it.
type casStore[T any] struct {
	mu     sync.Mutex // guards the fields below
	val    T
	ver    merge.Version
	exists bool
}

func (s *casStore[T]) get() (T, merge.Version, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.val, s.ver, s.exists
}

// cas stores v if the version is still ifVer.
func (s *casStore[T]) cas(v T, ifVer merge.Version) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ver != ifVer {
		return false
	}
	s.val, s.ver, s.exists = v, s.ver+1, true
	return true
}

// writeMerged is Warp's merged write (api.setMerged) against s: read the
// current value, merge, compare-and-swap, and merge again on a conflict.
// between runs after the read of every attempt; it returns the number of
// conflicts.
func writeMerged[T any](eng *merge.Engine[T], key string, s *casStore[T], incoming T, between func(attempt int)) (conflicts int, err error) {
	for attempt := 0; ; attempt++ {
		cur, ver, ok := s.get()
		if between != nil {
			between(attempt)
		}
		merged, err := eng.Merge(key, cur, ok, incoming)
		if err != nil {
			return conflicts, err
		}
		if s.cas(merged, ver) {
			return conflicts, nil
		}
		conflicts++
	}
}
