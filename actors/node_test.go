package actors

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"negative clock bound": {MaxClockAhead: -1},
		"negative sweep":       {SweepInterval: -time.Second},
		"unknown dispatcher":   {Dispatcher: Dispatch(7)},
	} {
		if _, err := NewNode(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v; want ErrConfig", name, err)
		}
	}
	n, err := NewNode(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, shards := range []int{-1, 3, 12} {
		if _, err := n.NewRouter(RouterConfig{Shards: shards}); !errors.Is(err, ErrConfig) {
			t.Errorf("%d shards: err = %v; want ErrConfig", shards, err)
		}
	}
	if n.ID() == "" || n.Epoch() == 0 {
		t.Errorf("ID %q, epoch %d; want both set", n.ID(), n.Epoch())
	}
}

func TestRouterSpreadsKeysAndCloses(t *testing.T) {
	t.Parallel()
	n, err := NewNode(Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.NewRouter(RouterConfig{Shards: 8})
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]int{}
	for i := range 1000 {
		used[r.ShardIndex(r.Hash(string(rune('a'+i%26))+string(rune(i))))]++
	}
	if len(used) != 8 {
		t.Fatalf("1000 keys used %d of 8 shards", len(used))
	}
	if err := r.Each(func(_ int, rep *messages.Reply) any { return &messages.Flush{Reply: rep} }); err != nil {
		t.Fatalf("Each = %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := r.Each(func(_ int, rep *messages.Reply) any { return &messages.Flush{Reply: rep} }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Each after Close = %v; want ErrClosed", err)
	}
	if _, err := n.NewRouter(RouterConfig{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewRouter after Close = %v; want ErrClosed", err)
	}
}

// A router without a shard count takes DefaultShards, lowered so that each
// shard's slice of the memory bound is at least 1 MiB, and splits
// DefaultHotSlots and DefaultStripes among its shards, so neither total
// depends on the shard count.
func TestRouterDefaults(t *testing.T) {
	t.Parallel()
	n, err := NewNode(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	decode := func(b []byte) (any, error) { return b, nil }
	for _, tt := range []struct {
		maxBytes, shards int
	}{
		{0, min(DefaultShards(), DefaultMaxBytes>>20)},
		{4 << 20, min(DefaultShards(), 4)},
		{6 << 20, min(DefaultShards(), 4)},
		{1 << 20, 1},
		{1000, 1},
	} {
		r, err := n.NewRouter(RouterConfig{Shard: shard.Config{MaxBytes: tt.maxBytes, NewHot: shard.DecodeHot(decode)}})
		if err != nil {
			t.Fatal(err)
		}
		hot, stripes := 0, 0
		for _, v := range r.Shards() {
			hot += v.HotSlots()
			stripes += len(v.Gens())
		}
		if got := len(r.Shards()); got != tt.shards {
			t.Errorf("max bytes %d: %d shards; want %d", tt.maxBytes, got, tt.shards)
		}
		if hot != DefaultHotSlots {
			t.Errorf("max bytes %d: %d hot slots over %d shards; want %d", tt.maxBytes, hot, len(r.Shards()), DefaultHotSlots)
		}
		if stripes != DefaultStripes {
			t.Errorf("max bytes %d: %d stripes over %d shards; want %d", tt.maxBytes, stripes, len(r.Shards()), DefaultStripes)
		}
	}
	if got := DefaultShards(); got < 8 || got < 16*runtime.GOMAXPROCS(0) || got&(got-1) != 0 {
		t.Errorf("DefaultShards() = %d; want a power of two, at least 8 and 16 per CPU", got)
	}
}

// A shard's share of a router-wide total is the total divided by the
// shard count, and never 0.
func TestPerShard(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ total, shards, want int }{
		{DefaultHotSlots, 32, 1024}, {DefaultSweepBudget, 4096, 1}, {1000, 1, 1000}, {0, 8, 1},
	} {
		if got := perShard(tt.total, tt.shards); got != tt.want {
			t.Errorf("perShard(%d, %d) = %d; want %d", tt.total, tt.shards, got, tt.want)
		}
	}
}

// Now reads the monotonic clock afresh: right after time passed without
// any of the node's goroutines running (here the bubble's clock jumps
// while every goroutine is blocked), it shows the whole of it, to the
// nanosecond. A clock advanced by a ticker would show the time the gap
// began until its ticker ran again. Close stops the node's goroutine
// (synctest fails the test if one outlives the bubble).
func TestNowReadsTheClockAfresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := NewNode(Config{SweepInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		start := n.Now()
		time.Sleep(95*time.Millisecond + 7)
		if got := time.Duration(n.Now() - start); got != 95*time.Millisecond+7 {
			t.Fatalf("Now advanced %v over a 95.000000007ms gap; want all of it", got)
		}
		v1 := n.HLC().Now()
		if v2 := n.HLC().Now(); v2 <= v1 {
			t.Fatalf("HLC went from %d to %d", v1, v2)
		}
		_ = n.Close()
	})
}

// The hybrid logical clock starts from the Clock's reading and then
// follows the monotonic clock: a wall clock stepped an hour either way
// while the node runs moves no version.
func TestHLCIgnoresWallClockSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var step atomic.Int64
		wall := ClockFunc(func() time.Time { return time.Now().Add(time.Duration(step.Load())) })
		n, err := NewNode(Config{Clock: wall, SweepInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		v0 := n.HLC().Now()
		for _, d := range []time.Duration{time.Hour, -time.Hour} {
			step.Store(int64(d))
			time.Sleep(time.Second)
			v := n.HLC().Now()
			if gap := v.Time().Sub(v0.Time()); gap < 0 || gap > 3*time.Second {
				t.Fatalf("after a wall step of %v, versions moved %v; want only the time elapsed", d, gap)
			}
		}
	})
}

// A sweep inspects DefaultSweepBudget entries over all of a router's
// shards unless Config.SweepBudget sets a budget per shard. Runs in a
// synctest bubble: the sweeps come on the bubble's clock.
func TestSweepBudget(t *testing.T) {
	for _, tt := range []struct{ budget, shards, want int }{
		{0, 8, DefaultSweepBudget / 8},
		{0, 32, DefaultSweepBudget / 32},
		{10, 32, 10},
	} {
		synctest.Test(t, func(t *testing.T) {
			n, err := NewNode(Config{SweepInterval: time.Second, SweepBudget: tt.budget})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			var mu sync.Mutex
			budgets := map[int]int{} // budget → sweeps seen
			_, err = n.NewRouter(RouterConfig{Shards: tt.shards, Shard: shard.Config{OnReceive: func(msg any) {
				if s, ok := msg.(*messages.Sweep); ok {
					mu.Lock()
					budgets[s.Budget]++
					mu.Unlock()
				}
			}}})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond)
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			if len(budgets) != 1 || budgets[tt.want] != tt.shards {
				t.Fatalf("budget %d, %d shards: sweeps by budget %v; want one each at %d", tt.budget, tt.shards, budgets, tt.want)
			}
		})
	}
}

// HLCAt's wall time is the start reading plus the monotonic reading, in
// milliseconds rounded down, as time.Time's arithmetic gives it: before
// 1970, across a millisecond's edge and for readings before the start.
func TestWallMilliMatchesTimeArithmetic(t *testing.T) {
	starts := []time.Time{
		time.Date(2026, 12, 7, 12, 0, 0, 999_999, time.UTC),
		time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 500_000_001, time.UTC),
		time.Unix(0, 0),
	}
	for _, start := range starts {
		n, err := NewNode(Config{Clock: ClockFunc(func() time.Time { return start }), SweepInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []int64{0, 1, 999_999, 1_000_000, 1_000_001, 123_456_789_012, -1, -999_999, -1_000_000, -1_000_001, -5_000_000_007} {
			want := start.Add(time.Duration(d)).UnixMilli()
			if got := n.wallMilli(d); got != want {
				t.Errorf("start %v, +%dns: wallMilli %d; want %d", start, d, got, want)
			}
		}
		_ = n.Close()
	}
}

// A Close concurrent with the first returns only once the first has
// stopped the node: every Close, when it returns, finds the routers closed
// and the actor system stopped. The closing seam holds the first Close
// before it stops anything while the second runs; the bubble tells when
// the second is blocked.
func TestConcurrentCloseWaitsForTheFirst(t *testing.T) {
	for name, d := range map[string]Dispatch{"inline": DispatchInline, "goroutine": DispatchGoroutine} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { concurrentClose(t, d) })
		})
	}
}

func concurrentClose(t *testing.T, d Dispatch) {
	n, err := NewNode(Config{SweepInterval: time.Hour, Dispatcher: d})
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.NewRouter(RouterConfig{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	n.closing = func() { close(held); <-release }
	// stopped reports what a returned Close finds still running.
	stopped := func() error {
		if !n.System().IsStopped() {
			return errors.New("the actor system is running")
		}
		err := r.Each(func(_ int, rep *messages.Reply) any { return &messages.Flush{Reply: rep} })
		if !errors.Is(err, ErrClosed) {
			return fmt.Errorf("the router's Each = %v; want ErrClosed", err)
		}
		return nil
	}
	closeAndCheck := func(done chan<- error) {
		if err := n.Close(); err != nil {
			done <- err
			return
		}
		done <- stopped()
	}
	first, second := make(chan error, 1), make(chan error, 1)
	go closeAndCheck(first)
	<-held
	go closeAndCheck(second)
	synctest.Wait()
	select {
	case err := <-second:
		t.Errorf("second Close returned (finding: %v) while the first was still stopping the node", err)
		second <- nil // the first still has to finish
	default:
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first Close: %v", err)
	}
	if err := <-second; err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A Close that begins while NewRouter is spawning its shards waits for it:
// NewRouter then fails with ErrClosed, having closed its shards, and Close
// returns with the actor system stopped and nothing left running (the
// package's leak check). The spawning seam holds NewRouter after its first
// check of closed.
func TestCloseWaitsForNewRouter(t *testing.T) {
	for name, d := range map[string]Dispatch{"inline": DispatchInline, "goroutine": DispatchGoroutine} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { closeDuringNewRouter(t, d) })
		})
	}
}

func closeDuringNewRouter(t *testing.T, d Dispatch) {
	n, err := NewNode(Config{SweepInterval: time.Hour, Dispatcher: d})
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	n.spawning = func() { close(held); <-release }
	built := make(chan error, 1)
	go func() {
		r, err := n.NewRouter(RouterConfig{Shards: 2})
		if err == nil {
			err = fmt.Errorf("NewRouter = %v, nil; want ErrClosed", r)
			_ = r.Close()
		}
		built <- err
	}()
	<-held
	closed := make(chan error, 1)
	go func() { closed <- n.Close() }()
	synctest.Wait()
	select {
	case <-closed:
		t.Error("Close returned while NewRouter was spawning shards")
	default:
	}
	close(release)
	if err := <-built; !errors.Is(err, ErrClosed) {
		t.Errorf("NewRouter during Close: %v; want ErrClosed", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !n.System().IsStopped() {
		t.Error("Close returned with the actor system running")
	}
	if _, err := n.NewRouter(RouterConfig{Shards: 2}); !errors.Is(err, ErrClosed) {
		t.Errorf("NewRouter after Close: %v; want ErrClosed", err)
	}
}
