package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/internal/check"
)

// reserved starts the names, after Config.Prefix, of the store's own
// hashes; no key may start with its first byte (NUL), so none collides
// with them.
const reserved = "\x00members:"

// membersKey names the hash of cluster's membership: Prefix, NUL,
// "members:", cluster. With a hash tag in Prefix it shares the data's slot.
func (s *Store[T]) membersKey(cluster string) string {
	return s.cfg.Prefix + reserved + cluster
}

// Join implements [store.Membership] with one script (join.lua).
func (s *Store[T]) Join(ctx context.Context, cluster, node string, min uint64) (uint64, error) {
	if err := check.Call(ctx, "redis", "join", check.IDs(cluster, node), check.Min(min)); err != nil {
		return 0, err
	}
	if !endsWithContext(s.client) {
		return 0, fmt.Errorf("redis: join %q: the client's options leave ContextTimeoutEnabled off, so a call runs past its context's deadline, up to the client's read timeout; a membership store's calls must not (a strong write's store write must end within its bound): %w", node, store.ErrInvalid)
	}
	res, err := joinScript.Run(ctx, s.client, []string{s.membersKey(cluster)},
		node, num(min), num(uint64(store.MaxIncarnation)), store.MaxMembers).Slice()
	if err != nil {
		return 0, fail(ctx, "join", node, err)
	}
	var code int64 = -1
	if len(res) > 0 {
		code, _ = res[0].(int64)
	}
	switch {
	case code == statusOverflow:
		return 0, fmt.Errorf("redis: join %q: incarnations of cluster %q exhausted: %w", node, cluster, store.ErrInvalid)
	case code == statusFull:
		return 0, fmt.Errorf("redis: join %q: cluster %q has %d members: %w", node, cluster, store.MaxMembers, store.ErrTooLarge)
	case code != statusOK || len(res) != 2:
		return 0, fmt.Errorf("redis: join %q: unexpected script reply %v", node, res)
	}
	inc, err := parseNum(res[1])
	if err != nil || inc > store.MaxIncarnation {
		return 0, fmt.Errorf("redis: join %q: bad incarnation %v", node, res[1])
	}
	return inc, nil
}

// Renew implements [store.Membership] with one script (renew.lua).
func (s *Store[T]) Renew(ctx context.Context, cluster, node string, incarnation uint64) ([]store.Member, error) {
	if err := check.Call(ctx, "redis", "renew", check.Member(cluster, node, incarnation)); err != nil {
		return nil, err
	}
	res, err := renewScript.Run(ctx, s.client, []string{s.membersKey(cluster)}, node, num(incarnation), store.MaxMembers+1).Slice()
	if err != nil {
		return nil, fail(ctx, "renew", node, err)
	}
	if len(res) == 1 && res[0] == int64(statusTooMany) {
		return nil, fmt.Errorf("redis: renew %q: cluster %q holds more than %d members, which no Join writes: %w", node, cluster, store.MaxMembers, store.ErrTooLarge)
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("redis: renew %q: unexpected script reply %v", node, res)
	}
	fields, ok := res[1].([]any)
	if !ok {
		return nil, fmt.Errorf("redis: renew %q: unexpected script reply %v", node, res)
	}
	out, err := parseMembers(fields)
	if err != nil {
		return nil, fmt.Errorf("redis: renew %q: members hash of cluster %q: %w", node, cluster, err)
	}
	if renewed, _ := res[0].(int64); renewed != 1 {
		return out, fmt.Errorf("redis: renew: %w", check.NotMember(store.Guard{Cluster: cluster, Node: node, Incarnation: incarnation}))
	}
	return out, nil
}

// parseMembers reads HGETALL's fields of a members hash, skipping the
// field "" of the largest incarnation, and returns at most MaxMembers.
//
// A record no Join could have written (a node id that check.ID refuses, a
// field that is not 20 digits, an incarnation out of range) is skipped:
// no node can hold it (Join refuses such ids, and a guarded write matches
// the record's 20-digit incarnation), so no node waits for it either. Taken
// into the view, it could never answer nor be expelled, and every lease
// would stay off; refused as an error, it would fail every renewal.
func parseMembers(fields []any) ([]store.Member, error) {
	out := make([]store.Member, 0, min(len(fields)/2, store.MaxMembers))
	for i := 0; i+1 < len(fields) && len(out) < store.MaxMembers; i += 2 {
		node, _ := fields[i].(string)
		if node == "" {
			continue
		}
		rec, _ := fields[i+1].(string)
		if m, ok := parseMember(node, rec); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// parseMember parses one member record, "<incarnation>:<counter>" with
// both numbers in 20 digits, as join.lua writes it.
func parseMember(node, rec string) (store.Member, bool) {
	incs, counters, ok := strings.Cut(rec, ":")
	if !ok || len(incs) != 20 || len(counters) != 20 || check.ID("node", node) != nil {
		return store.Member{}, false
	}
	inc, err1 := strconv.ParseUint(incs, 10, 64)
	counter, err2 := strconv.ParseUint(counters, 10, 64)
	if err1 != nil || err2 != nil || check.Incarnation(inc) != nil {
		return store.Member{}, false
	}
	return store.Member{Node: node, Incarnation: inc, Counter: counter}, true
}

// Expel implements [store.Membership] with one script (remove.lua), which
// Redis runs between writes: none is in flight while it runs.
func (s *Store[T]) Expel(ctx context.Context, cluster string, m store.Member) (bool, error) {
	if err := check.Call(ctx, "redis", "expel", check.Member(cluster, m.Node, m.Incarnation)); err != nil {
		return false, err
	}
	return s.remove(ctx, "expel", cluster, m.Node, num(m.Incarnation)+":"+num(m.Counter))
}

// Leave implements [store.Membership] as Expel does, without the counter.
func (s *Store[T]) Leave(ctx context.Context, cluster, node string, incarnation uint64) error {
	if err := check.Call(ctx, "redis", "leave", check.Member(cluster, node, incarnation)); err != nil {
		return err
	}
	_, err := s.remove(ctx, "leave", cluster, node, num(incarnation))
	return err
}

// remove deletes node's record if it starts with want.
func (s *Store[T]) remove(ctx context.Context, op, cluster, node, want string) (bool, error) {
	n, err := removeScript.Run(ctx, s.client, []string{s.membersKey(cluster)}, node, want).Int64()
	if err != nil {
		return false, fail(ctx, op, node, err)
	}
	return n == 1, nil
}

// parseNum parses a 20-digit number a script returned.
func parseNum(v any) (uint64, error) {
	s, _ := v.(string)
	return strconv.ParseUint(s, 10, 64)
}

var _ store.Membership = (*Store[int])(nil)

// endsWithContext reports whether client's calls end with their context's
// deadline: go-redis's clients do only with Options.ContextTimeoutEnabled.
// A client of another type is trusted.
func endsWithContext(client goredis.UniversalClient) bool {
	switch c := client.(type) {
	case *goredis.Client:
		return c.Options().ContextTimeoutEnabled
	case *goredis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *goredis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}
