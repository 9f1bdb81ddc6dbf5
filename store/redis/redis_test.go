package redis_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
	"github.com/warpcache/warp/store/redis"
	"github.com/warpcache/warp/store/storetest"
)

func TestContract(t *testing.T) {
	c := testClient(t, &goredis.Options{PoolSize: 16})
	cfg := redis.Config{MaxValueSize: 1 << 20}
	storetest.Run(t, storetest.Harness{
		New:          func(t *testing.T) store.Store[[]byte] { return newStore(t, c, cfg) },
		MaxKeyLen:    redis.DefaultMaxKeyLen,
		MaxValueSize: cfg.MaxValueSize,
		Prefix:       "redis:",
	})
}

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		client goredis.UniversalClient
		cfg    redis.Config
	}{
		{"NilClient", nil, redis.Config{}},
		{"NegativeKeyLen", goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"}), redis.Config{MaxKeyLen: -1}},
		{"HugeValues", goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"}), redis.Config{MaxValueSize: redis.MaxValueSizeLimit + 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := redis.New[[]byte](tc.client, nil, tc.cfg); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("New(%+v) = %v; want ErrInvalid", tc.cfg, err)
			}
		})
	}
}

// TestServerGoesAway blocks a write on the server (CLIENT PAUSE WRITE),
// kills the store's connection (CLIENT KILL of its own id) while the write
// waits, and checks that without client retries the write fails clearly
// and writes nothing, and with them is applied exactly once. Not parallel:
// the pause holds every writer of the server for a moment.
func TestServerGoesAway(t *testing.T) {
	admin := testClient(t, nil)
	commit := func(ctx context.Context, s *redis.Store[[]byte]) error {
		_, err := s.Commit(ctx, []store.Op[[]byte]{
			{Kind: store.OpSet, Key: "a", Value: []byte("new")},
			{Kind: store.OpSet, Key: "b", Value: []byte("new"), Write: store.Write{Check: true, IfVersion: 1}},
		})
		return err
	}
	set := func(ctx context.Context, s *redis.Store[[]byte]) error {
		_, err := s.Set(ctx, "b", []byte("new"), store.Write{Check: true, IfVersion: 1})
		return err
	}
	tests := []struct {
		name    string
		retries int
		op      func(context.Context, *redis.Store[[]byte]) error
	}{
		{"Set", -1, set},
		{"Commit", -1, commit},
		{"SetRetried", 3, set},
		{"CommitRetried", 3, commit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testClient(t, &goredis.Options{PoolSize: 1, MaxRetries: tc.retries})
			s := newStore(t, c, redis.Config{})
			for _, k := range []string{"a", "b"} {
				_, err := s.Set(t.Context(), k, []byte("old"), store.Write{})
				must(t, err)
			}
			id, err := c.ClientID(t.Context()).Result()
			must(t, err)
			must(t, admin.Do(t.Context(), "CLIENT", "PAUSE", 5000, "WRITE").Err())
			defer admin.Do(context.Background(), "CLIENT", "UNPAUSE")
			done := make(chan error, 1)
			go func() { done <- tc.op(t.Context(), s) }()
			waitBlocked(t, admin, id)
			must(t, admin.ClientKillByFilter(t.Context(), "ID", strconv.FormatInt(id, 10)).Err())
			must(t, admin.Do(t.Context(), "CLIENT", "UNPAUSE").Err())
			err = <-done
			want := uint64(1)
			if tc.retries > 0 {
				if err != nil {
					t.Fatalf("%s with retries: %v", tc.name, err)
				}
				want = 2
			} else if err == nil || !strings.HasPrefix(err.Error(), "redis: ") || errors.Is(err, store.ErrConflict) {
				t.Fatalf("%s on a killed connection = %v; want a redis: error about the connection", tc.name, err)
			}
			t.Logf("%s: %v", tc.name, err)
			for _, k := range []string{"b", "a"} {
				if k == "a" && strings.HasPrefix(tc.name, "Set") {
					want = 1 // not written by Set
				}
				if v, err := s.Version(t.Context(), k); err != nil || uint64(v) != want {
					t.Fatalf("Version(%s) = %d, %v; want %d", k, v, err, want)
				}
			}
		})
	}
}

// waitBlocked queries until client id is blocked on the server.
func waitBlocked(t *testing.T, admin *goredis.Client, id int64) {
	t.Helper()
	for {
		info, err := admin.Do(t.Context(), "CLIENT", "LIST", "ID", id).Text()
		must(t, err)
		for _, f := range strings.Fields(info) {
			if flags, ok := strings.CutPrefix(f, "flags="); ok && strings.Contains(flags, "b") {
				return
			}
		}
	}
}

func BenchmarkGet(b *testing.B) { bench(b, storetest.BenchGet) }
func BenchmarkSet(b *testing.B) { bench(b, storetest.BenchSet) }

// BenchmarkMembership: guarded against unguarded Set, serial and parallel,
// and Renew with 3 and 100 members.
func BenchmarkMembership(b *testing.B) {
	storetest.BenchMembership(b, newStore(b, testClient(b, &goredis.Options{PoolSize: 16}), redis.Config{}))
}

// bench runs body on the memory store (the baseline) and on Redis.
func bench(b *testing.B, body func(*testing.B, store.Store[[]byte])) {
	b.Run("memory", func(b *testing.B) { body(b, memory.New[[]byte](memory.Options{})) })
	b.Run("redis", func(b *testing.B) {
		body(b, newStore(b, testClient(b, &goredis.Options{PoolSize: 16}), redis.Config{}))
	})
}
