package redis

import (
	"context"
	"fmt"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/store"
)

// scanCount is the COUNT hint of each SCAN call.
const scanCount = 512

// Scan implements [store.Store] with SCAN ... MATCH Prefix+prefix* (the
// glob metacharacters of the prefix escaped) on every master, reading each
// batch's hashes in one pipeline. SCAN may return a key twice; Scan visits
// it once. Keys written during the scan may or may not be visited; no
// connection is held while fn runs.
func (s *Store[T]) Scan(ctx context.Context, prefix string, fn func(string, store.Item[T]) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis: scan %q: %w", prefix, err)
	}
	sc := &scanner[T]{s: s, fn: fn, seen: map[string]bool{}, match: escapeGlob(s.cfg.Prefix+prefix) + "*",
		own: s.cfg.Prefix + reserved[:1]}
	nodes, err := masters(ctx, s.client)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := sc.node(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// masters returns the cluster's masters, or c itself if it is no cluster.
func masters(ctx context.Context, c goredis.UniversalClient) ([]goredis.UniversalClient, error) {
	cc, ok := c.(*goredis.ClusterClient)
	if !ok {
		return []goredis.UniversalClient{c}, nil
	}
	var mu sync.Mutex // guards nodes
	var nodes []goredis.UniversalClient
	err := cc.ForEachMaster(ctx, func(_ context.Context, n *goredis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		nodes = append(nodes, n)
		return nil
	})
	if err != nil {
		return nil, fail(ctx, "scan", "", err)
	}
	return nodes, nil
}

type scanner[T any] struct {
	s     *Store[T]
	fn    func(string, store.Item[T]) error
	match string
	own   string          // starts the names of the store's own hashes
	seen  map[string]bool // keys visited
}

func (sc *scanner[T]) node(ctx context.Context, c goredis.UniversalClient) error {
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, sc.match, scanCount).Result()
		if err != nil {
			return fail(ctx, "scan", "", err)
		}
		if err := sc.batch(ctx, c, keys); err != nil {
			return err
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// batch reads the hashes of keys in one pipeline and calls fn for the live
// ones not seen yet.
func (sc *scanner[T]) batch(ctx context.Context, c goredis.UniversalClient, keys []string) error {
	var fresh []string
	for _, k := range keys {
		if strings.HasPrefix(k, sc.own) {
			continue // the store's own hash, no key
		}
		if !sc.seen[k] {
			sc.seen[k] = true
			fresh = append(fresh, k)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	cmds := make([]*goredis.SliceCmd, len(fresh))
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range fresh {
			cmds[i] = p.HMGet(ctx, k, "v", "ver", "d")
		}
		return nil
	})
	if err != nil {
		return fail(ctx, "scan", "", err)
	}
	for i, k := range fresh {
		key := strings.TrimPrefix(k, sc.s.cfg.Prefix)
		f := cmds[i].Val()
		if f[1] == nil || f[2] == "1" {
			continue // deleted, or gone since SCAN saw it
		}
		it, err := sc.s.item(key, f)
		if err != nil {
			return err
		}
		if err := sc.fn(key, it); err != nil {
			return err
		}
	}
	return nil
}

// escapeGlob escapes the characters that are special in a Redis MATCH
// pattern, so that s matches itself only.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range []byte(s) {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteByte(r)
	}
	return b.String()
}
