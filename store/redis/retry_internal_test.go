package redis

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/store"
)

// TestRetriedScriptWritesOnce replays a write and a commit with the same
// write id, as go-redis does when it retries a script whose reply was lost,
// and checks that the replay returns the first result and writes nothing.
func TestRetriedScriptWritesOnce(t *testing.T) {
	t.Parallel()
	addr := cmp.Or(os.Getenv("WARP_REDIS_ADDR"), "127.0.0.1:6379")
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis unreachable at %s: %v; start it with bash .ci/services", addr, err)
		}
		t.Skipf("Redis unreachable at %s (%v); start it with bash .ci/services", addr, err)
	}
	s, err := New[string](c, nil, Config{Prefix: "warptest:retry:" + time.Now().Format("150405.000000") + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Del(context.Background(), s.cfg.Prefix+"a", s.cfg.Prefix+"b") })
	replay := func() { s.seq.Add(^uint64(0)) } // the next write reuses the last id

	tests := []struct {
		name string
		run  func() (any, error)
	}{
		{"Set", func() (any, error) {
			return s.Set(ctx, "a", "x", store.Write{Check: true, IfVersion: 0})
		}},
		{"Delete", func() (any, error) {
			return s.Delete(ctx, "a", store.Write{Check: true, IfVersion: 1})
		}},
		{"Commit", func() (any, error) {
			v, err := s.Commit(ctx, []store.Op[string]{
				{Kind: store.OpCheck, Key: "b"},
				{Kind: store.OpSet, Key: "a", Value: "y", Write: store.Write{Check: true, IfVersion: 2}},
				{Kind: store.OpSet, Key: "b", Value: "y", Write: store.Write{Check: true}},
			})
			return fmtSlice(v), err
		}},
	}
	for _, tc := range tests { // in order: each step builds on the one before
		first, err := tc.run()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		replay()
		again, err := tc.run()
		if err != nil || again != first {
			t.Fatalf("%s replayed = %v, %v; want %v, nil", tc.name, again, err, first)
		}
	}
	for k, want := range map[string]uint64{"a": 3, "b": 1} {
		if v, err := s.Version(ctx, k); err != nil || uint64(v) != want {
			t.Fatalf("Version(%s) = %d, %v; want %d", k, v, err, want)
		}
	}
}

func fmtSlice[E any](s []E) any { return fmt.Sprint(s) }
