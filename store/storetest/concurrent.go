package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

func testConcurrent(t *testing.T, h Harness) {
	t.Run("OneWinnerPerRound", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		cur := set(t, s, "k", "start", store.Write{})
		for round := range h.rounds() {
			errs := parallel(h.workers(), func(w int) error {
				_, err := s.Set(t.Context(), "k", fmt.Appendf(nil, "%d/%d", round, w), store.Write{Check: true, IfVersion: cur})
				return err
			})
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, store.ErrConflict):
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d winners; want 1", round, wins)
			}
			if v := version(t, s, "k"); v != cur+1 {
				t.Fatalf("round %d: version %d; want %d", round, v, cur+1)
			}
			cur++
		}
	})
	t.Run("IncrementLoops", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		n := h.rounds()
		errs := parallel(h.workers(), func(int) error {
			for range n {
				if err := increment(t, s, "counter"); err != nil {
					return err
				}
			}
			return nil
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		want := h.workers() * n
		mustGet(t, s, "counter", strconv.Itoa(want), merge.Version(want))
	})
	t.Run("DistinctVersions", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		n := h.rounds()
		var mu sync.Mutex // guards seen
		seen := map[merge.Version]bool{}
		errs := parallel(h.workers(), func(w int) error {
			for i := range n {
				v, err := s.Set(t.Context(), "k", fmt.Appendf(nil, "%d/%d", w, i), store.Write{})
				if err != nil {
					return err
				}
				mu.Lock()
				dup := seen[v]
				seen[v] = true
				mu.Unlock()
				if dup {
					return fmt.Errorf("version %d assigned twice", v)
				}
			}
			return nil
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if v, want := version(t, s, "k"), merge.Version(h.workers()*n); v != want {
			t.Fatalf("version after %d writes = %d; want %d", want, v, want)
		}
	})
	t.Run("Transfers", func(t *testing.T) {
		t.Parallel()
		s := h.New(t)
		c, ok := s.(store.Committer[[]byte])
		if !ok {
			t.Skip("store is not a store.Committer")
		}
		const accounts, total = 4, 1000
		for i := range accounts {
			set(t, s, fmt.Sprintf("acct/%d", i), strconv.Itoa(total/accounts), store.Write{})
		}
		n := h.rounds()
		errs := parallel(h.workers(), func(w int) error {
			for i := range n {
				from, to := fmt.Sprintf("acct/%d", (w+i)%accounts), fmt.Sprintf("acct/%d", (w+i+1)%accounts)
				if err := transfer(t, s, c, from, to); err != nil {
					return err
				}
			}
			return nil
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		sum := 0
		for i := range accounts {
			sum += counter(t, s, fmt.Sprintf("acct/%d", i))
		}
		if sum != total {
			t.Fatalf("sum after transfers = %d; want %d", sum, total)
		}
	})
}

// parallel runs fn on n goroutines and returns their errors once all of
// them have returned.
func parallel(n int, fn func(w int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() { errs[w] = fn(w) })
	}
	wg.Wait()
	return errs
}

// increment adds one to the decimal counter at key with a CAS loop.
func increment(t *testing.T, s store.Store[[]byte], key string) error {
	for {
		it, err := s.Get(t.Context(), key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n, _ := strconv.Atoi(string(it.Value))
		_, err = s.Set(t.Context(), key, strconv.AppendInt(nil, int64(n+1), 10), store.Write{Check: true, IfVersion: it.Version})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
}

// transfer moves one unit from one counter to another in a checked commit,
// retrying on conflicts.
func transfer(t *testing.T, s store.Store[[]byte], c store.Committer[[]byte], from, to string) error {
	for {
		a, err := s.Get(t.Context(), from)
		if err != nil {
			return err
		}
		b, err := s.Get(t.Context(), to)
		if err != nil {
			return err
		}
		x, _ := strconv.Atoi(string(a.Value))
		y, _ := strconv.Atoi(string(b.Value))
		_, err = c.Commit(t.Context(), []op{
			opSet(from, strconv.Itoa(x-1), store.Write{Check: true, IfVersion: a.Version}),
			opSet(to, strconv.Itoa(y+1), store.Write{Check: true, IfVersion: b.Version}),
		})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
}

func counter(t *testing.T, s store.Store[[]byte], key string) int {
	t.Helper()
	it, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	n, err := strconv.Atoi(string(it.Value))
	if err != nil {
		t.Fatalf("Get(%q) = %q: %v", key, it.Value, err)
	}
	return n
}
