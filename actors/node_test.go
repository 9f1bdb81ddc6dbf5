package actors

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warpcache/warp/messages"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"negative resolution": {Resolution: -1},
		"negative sweep":      {SweepInterval: -time.Second},
		"unknown dispatcher":  {Dispatcher: Dispatch(7)},
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

// TestCoarseClock runs in a synctest bubble: the coarse clock advances by
// the resolution, never goes back, and Close stops its goroutine (synctest
// fails the test if a goroutine outlives the bubble).
func TestCoarseClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := NewNode(Config{Resolution: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		start := n.Now()
		time.Sleep(95 * time.Millisecond)
		got := n.Now() - start
		if got < int64(80*time.Millisecond) || got > int64(95*time.Millisecond) {
			t.Fatalf("coarse clock advanced %v in 95ms at 10ms resolution", time.Duration(got))
		}
		v1 := n.HLC().Now()
		if v2 := n.HLC().Now(); v2 <= v1 {
			t.Fatalf("HLC went from %d to %d", v1, v2)
		}
		_ = n.Close()
	})
}
