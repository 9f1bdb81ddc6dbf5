package natslock_test

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/warpcache/warp/bus/natslock"
	"github.com/warpcache/warp/internal/natstest"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// mutexInput is one operation of the mutex model: client acquires (output:
// the token) or releases.
type mutexInput struct {
	acquire bool
	client  int
}

// mutexState: who holds the mutex (-1: nobody) and the last token granted.
type mutexState struct {
	holder int
	token  uint64
}

// mutexModel is a mutex whose grants carry strictly increasing tokens:
// acquire succeeds only when free, release only by the holder.
var mutexModel = porcupine.Model{
	Init: func() any { return mutexState{holder: -1} },
	Step: func(state, in, out any) (bool, any) {
		s, i := state.(mutexState), in.(mutexInput)
		if i.acquire {
			tok := out.(uint64)
			return s.holder == -1 && tok > s.token, mutexState{holder: i.client, token: tok}
		}
		return s.holder == i.client, mutexState{holder: -1, token: s.token}
	},
	DescribeOperation: func(in, out any) string {
		if i := in.(mutexInput); i.acquire {
			return fmt.Sprintf("%d acquires → %d", i.client, out.(uint64))
		}
		return fmt.Sprintf("%d releases", in.(mutexInput).client)
	},
}

// hold is one grant as the holder saw it, on the test's monotonic clock.
type hold struct {
	client        int
	token         uint64
	acquired, rel int64 // Lock returned; Unlock called
}

// TestMutualExclusion: three nodes, each with its own connection, contend
// for one name; no two holds overlap, tokens grow in grant order, and the
// history is linearizable for a mutex with increasing tokens.
func TestMutualExclusion(t *testing.T) {
	t.Parallel()
	const nodes, rounds = 3, 30
	srv := natstest.StartJetStream(t, nil)
	// The TTL outlives the deadline: every waiter must be woken by an
	// Unlock, none by an expiry.
	const ttl = 30 * time.Second
	ctx := bounded(t, 20*time.Second)
	start := time.Now()
	clock := func() int64 { return int64(time.Since(start)) }

	var mu sync.Mutex // guards ops and holds
	var ops []porcupine.Operation
	var holds []hold
	st := memory.New[string](memory.Options{})
	var waits atomic.Int64 // Lock calls that had to wait
	var wg sync.WaitGroup
	for c := range nodes {
		n := newNode(t, srv, natslock.Config{Owner: fmt.Sprintf("node%d", c)})
		natslock.SetWaitHook(n.l, func(string) { waits.Add(1) })
		wg.Go(func() {
			for range rounds {
				call := clock()
				k, err := n.l.Lock(ctx, "m", ttl)
				acquired := clock()
				if err != nil {
					t.Errorf("node %d: Lock: %v", c, err)
					return
				}
				// The holder's fenced write must pass: its token is the largest.
				if _, err := st.Set(ctx, "m", fmt.Sprint(c), store.Write{Fence: k.Token()}); err != nil {
					t.Errorf("node %d: fenced write with token %d: %v", c, k.Token(), err)
				}
				rel := clock()
				err = k.Unlock(ctx)
				ret := clock()
				if err != nil {
					t.Errorf("node %d: Unlock: %v", c, err)
					return
				}
				mu.Lock()
				ops = append(ops,
					porcupine.Operation{ClientId: c, Input: mutexInput{true, c}, Call: call, Output: k.Token(), Return: acquired},
					porcupine.Operation{ClientId: c, Input: mutexInput{false, c}, Call: rel, Return: ret})
				holds = append(holds, hold{c, k.Token(), acquired, rel})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if got, want := len(holds), nodes*rounds; got != want {
		t.Fatalf("got %d grants; want %d", got, want)
	}
	checkHolds(t, holds)
	if res := porcupine.CheckOperationsTimeout(mutexModel, ops, 30*time.Second); res != porcupine.Ok {
		t.Fatalf("history of %d operations is %v; want ok", len(ops), res)
	}
	t.Logf("%d grants (%d waited) in %v: disjoint, tokens increasing, linearizable", len(holds), waits.Load(), time.Since(start))
}

// checkHolds checks that hold intervals are disjoint and that tokens
// increase in the order of the grants.
func checkHolds(t *testing.T, holds []hold) {
	t.Helper()
	slices.SortFunc(holds, func(a, b hold) int { return cmp.Compare(a.acquired, b.acquired) })
	for i := 1; i < len(holds); i++ {
		p, h := holds[i-1], holds[i]
		if h.acquired < p.rel {
			t.Errorf("node %d acquired at %v before node %d released at %v", h.client, time.Duration(h.acquired), p.client, time.Duration(p.rel))
		}
		if h.token <= p.token {
			t.Errorf("grant %d: token %d after %d; want increasing", i, h.token, p.token)
		}
	}
}
