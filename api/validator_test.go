package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// lagging reports versions older than the truth, as a lagging replica
// would: the validator must not act on them.
type lagging[T any] struct{ store.Store[T] }

func (s lagging[T]) Version(ctx context.Context, key string) (merge.Version, error) {
	v, err := s.Store.Version(ctx, key)
	return v / 2, err
}

func TestValidator(t *testing.T) {
	for _, mode := range []ValidatorMode{ValidateAlert, ValidateHeal} {
		t.Run([]string{"alert", "heal"}[mode], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				st := memory.New[string](memory.Options{})
				w, err := New[string](st)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				_ = w.Register("k:*", ModeStrongLocal, time.Hour)
				for _, k := range []string{"k:1", "k:2", "k:3"} {
					_ = w.Set(ctx, k, "v1")
				}
				// Changed behind Warp's back: k:1 rewritten, k:2 deleted.
				_, _ = st.Set(ctx, "k:1", "v2", store.Write{})
				_, _ = st.Delete(ctx, "k:2", store.Write{})
				var mu sync.Mutex
				var drifts []Drift
				v, err := w.StartValidator(ValidatorConfig{Mode: mode, Interval: time.Second, Batch: 10,
					OnDrift: func(d Drift) { mu.Lock(); drifts = append(drifts, d); mu.Unlock() }})
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(1500 * time.Millisecond)
				synctest.Wait()
				s := v.Stats()
				if s.Checked < 3 || s.Stale != 2 || s.Ahead != 0 {
					t.Fatalf("stats %+v; want ≥3 checked, 2 stale", s)
				}
				got, _ := w.Get(ctx, "k:1")
				_, err2 := w.Get(ctx, "k:2")
				if mode == ValidateAlert {
					if got != "v1" || err2 != nil || s.Healed != 0 {
						t.Fatalf("alert mode changed the cache: k:1 %q, k:2 %v, healed %d", got, err2, s.Healed)
					}
				} else {
					if got != "v2" || !errors.Is(err2, ErrNotFound) || s.Healed != 2 {
						t.Fatalf("heal mode: k:1 %q, k:2 %v, healed %d; want v2, not found, 2", got, err2, s.Healed)
					}
				}
				mu.Lock()
				n := len(drifts)
				mu.Unlock()
				if n != 2 {
					t.Fatalf("OnDrift saw %d drifts; want 2", n)
				}
				v.Stop()
				v.Stop()
			})
		})
	}
}

// TestValidatorNeverRemovesNewer: a store that answers with older versions
// (a lagging replica) makes the cache look ahead; heal mode reports it and
// keeps the newer value.
func TestValidatorNeverRemovesNewer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		w, err := New[string](lagging[string]{memory.New[string](memory.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		_ = w.Register("k", ModeStrongLocal, time.Hour)
		_ = w.Set(ctx, "k", "newest")
		v, _ := w.StartValidator(ValidatorConfig{Mode: ValidateHeal, Interval: time.Second})
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if s := v.Stats(); s.Ahead != 1 || s.Healed != 0 {
			t.Fatalf("stats %+v; want 1 ahead, 0 healed", s)
		}
		if got, _ := w.Get(ctx, "k"); got != "newest" {
			t.Fatalf("Get = %q; want newest kept", got)
		}
	})
}

// versionCounting counts the store's Version calls per key, and its Gets.
type versionCounting[T any] struct {
	store.Store[T]
	mu    sync.Mutex
	calls map[string]int
	total int
	gets  int
}

func (s *versionCounting[T]) Get(ctx context.Context, key string) (store.Item[T], error) {
	s.mu.Lock()
	s.gets++
	s.mu.Unlock()
	return s.Store.Get(ctx, key)
}

func (s *versionCounting[T]) Version(ctx context.Context, key string) (merge.Version, error) {
	s.mu.Lock()
	s.calls[key]++
	s.total++
	s.mu.Unlock()
	return s.Store.Version(ctx, key)
}

// TestValidatorBatchPerRound: a round checks at most Batch entries, one
// store read each while nothing drifted, and the next round goes on where
// it stopped, so a full pass over N entries takes N/Batch intervals.
func TestValidatorBatchPerRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := &versionCounting[string]{Store: memory.New[string](memory.Options{}), calls: map[string]int{}}
		w, err := New[string](st)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		_ = w.Register("k:*", ModeStrongLocal, time.Hour)
		const n, batch = 10, 3
		for i := range n {
			if err := w.Set(ctx, fmt.Sprintf("k:%d", i), "v"); err != nil {
				t.Fatal(err)
			}
		}
		v, err := w.StartValidator(ValidatorConfig{Interval: time.Second, Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Stop()
		time.Sleep(time.Second / 2) // between ticks
		rounds := (n + batch - 1) / batch
		for r := 1; r <= rounds; r++ {
			time.Sleep(time.Second)
			synctest.Wait()
			st.mu.Lock()
			total := st.total
			st.mu.Unlock()
			if total != r*batch {
				t.Fatalf("after %d rounds: %d entries checked; want %d (Batch %d per round)", r, total, r*batch, batch)
			}
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.gets != 0 {
			t.Errorf("%d store Gets for entries that did not drift; want only the version reads", st.gets)
		}
		for i := range n {
			if k := fmt.Sprintf("k:%d", i); st.calls[k] == 0 {
				t.Errorf("%s not checked in %d rounds of %d over %d entries", k, rounds, batch, n)
			}
		}
		if s := v.Stats(); s.Checked != uint64(rounds*batch) {
			t.Errorf("Stats.Checked = %d; want %d", s.Checked, rounds*batch)
		}
	})
}

// TestStartValidatorDuringClose: Close runs entirely after StartValidator
// checked that the instance is open and before it records the validator
// (forced through a seam). Close cannot stop a validator it did not see, so
// StartValidator must refuse with ErrClosed rather than start one that
// outlives the instance.
func TestStartValidatorDuringClose(t *testing.T) {
	t.Parallel()
	w, err := New[string](memory.New[string](memory.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	w.beforeValidatorsLock = func() { _ = w.Close() }
	v, err := w.StartValidator(ValidatorConfig{Interval: time.Hour})
	if err == nil {
		v.Stop()
		t.Fatal("StartValidator during Close started a validator that Close did not stop; want ErrClosed")
	}
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("StartValidator during Close = %v; want ErrClosed", err)
	}
}

// TestStartValidatorRacingClose races StartValidator with Close: each
// validator is either refused with ErrClosed or stopped by Close, and none
// outlives the instance (leakcheck checks the run too); under -race, the
// detector checks the accesses.
func TestStartValidatorRacingClose(t *testing.T) {
	t.Parallel()
	for i := range 50 {
		w, err := New[string](memory.New[string](memory.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var v *Validator[string]
		var verr error
		started := make(chan struct{})
		go func() {
			defer close(started)
			<-start
			v, verr = w.StartValidator(ValidatorConfig{Interval: time.Hour})
		}()
		close(start)
		_ = w.Close()
		<-started
		switch {
		case verr != nil && !errors.Is(verr, ErrClosed):
			t.Fatalf("StartValidator racing Close = %v; want nil or ErrClosed", verr)
		case verr == nil:
			select {
			case <-v.done: // Close stopped it
			default:
				v.Stop()
				t.Fatalf("round %d: a validator started while Close ran was still running after Close returned", i)
			}
		}
	}
}

// hungVersions answers every Version only when its context ends, as a hung
// store would; everything else works.
type hungVersions[T any] struct{ store.Store[T] }

func (s hungVersions[T]) Version(ctx context.Context, _ string) (merge.Version, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestValidatorStopsOnAHungStore: Close (which stops the validator) in the
// middle of a round on a hung store returns at once; the round would
// otherwise check its remaining entries one Interval each. The check it
// cut short is no store error.
func TestValidatorStopsOnAHungStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		w, err := New[string](hungVersions[string]{memory.New[string](memory.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		_ = w.Register("k:*", ModeStrongLocal, time.Hour)
		for i := range 10 {
			if err := w.Set(ctx, fmt.Sprintf("k:%d", i), "v"); err != nil {
				t.Fatal(err)
			}
		}
		v, err := w.StartValidator(ValidatorConfig{Interval: time.Second, Batch: 10})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // the round began; its first check waits
		synctest.Wait()
		start := time.Now()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Fatalf("Close took %v in a validator's round on a hung store; want at once", took)
		}
		if s := v.Stats(); s.Checked != 1 || s.Errors != 0 {
			t.Fatalf("validator stats %+v; want the one check that was cut short, and no error", s)
		}
	})
}
