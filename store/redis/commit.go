package redis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/internal/check"
)

// Commit implements [store.Committer] with one script, which Redis runs
// atomically: it reads every key's hash, checks the ops in order (each
// seeing the ones before it), and writes only if all of them pass. On a
// Redis Cluster every key must be in one slot (see [Config].Prefix), else
// Commit fails with [store.ErrNotAtomic] and writes nothing.
func (s *Store[T]) Commit(ctx context.Context, ops []store.Op[T]) ([]merge.Version, error) {
	keys, args, err := s.commitArgs(ctx, ops)
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return []merge.Version{}, nil
	}
	res, err := commitScript.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		return nil, fail(ctx, "commit", "", err)
	}
	if code, _ := res[0].(int64); code != statusOK {
		i, _ := res[1].(int64)
		if i < 1 || i > int64(len(ops)) {
			return nil, fmt.Errorf("redis: commit: unexpected script reply %v", res)
		}
		op := ops[i-1]
		return nil, fmt.Errorf("redis: commit: op %d (%s) %w", i-1, check.OpName(op.Kind), status(res, op.Key, op.Write.Guard))
	}
	if len(res) != len(ops)+1 {
		return nil, fmt.Errorf("redis: commit: unexpected script reply of %d elements for %d ops", len(res), len(ops))
	}
	out := make([]merge.Version, len(ops))
	for i := range out {
		if out[i], err = parseVersion("commit", ops[i].Key, res[i+1]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var kindArg = map[store.OpKind]string{store.OpSet: "s", store.OpDelete: "d", store.OpCheck: "c"}

// commitArgs validates ops and lays them out for commit.lua.
func (s *Store[T]) commitArgs(ctx context.Context, ops []store.Op[T]) ([]string, []any, error) {
	index := map[string]int{} // of keys: hashes of keys and of guards' members
	var keys []string
	at := func(hash string) int {
		k, ok := index[hash]
		if !ok {
			keys = append(keys, hash)
			k = len(keys)
			index[hash] = k
		}
		return k
	}
	args := make([]any, 3, 3+10*len(ops))
	first := 0
	for i, op := range ops {
		if err := s.checkKey(ctx, "commit", op.Key); err != nil {
			return nil, nil, err
		}
		if err := check.Write(op.Write); err != nil {
			return nil, nil, fmt.Errorf("redis: commit: op %d on %q: %w", i, op.Key, err)
		}
		kind, ok := kindArg[op.Kind]
		if !ok {
			return nil, nil, fmt.Errorf("redis: commit: op %d on %q has kind %d: %w", i, op.Key, op.Kind, store.ErrInvalid)
		}
		var b []byte
		if op.Kind == store.OpSet {
			var err error
			if b, err = s.encode(op.Key, op.Value); err != nil {
				return nil, nil, err
			}
		}
		k := at(s.cfg.Prefix + op.Key)
		if first == 0 && op.Kind != store.OpCheck {
			first = k
		}
		w, g, inc := op.Write, 0, zero
		if !w.Guard.IsZero() {
			g, inc = at(s.membersKey(w.Guard.Cluster)), num(w.Guard.Incarnation)
		}
		args = append(args, kind, k, b, num(w.Min), flag(w.Check), num(w.IfVersion), num(w.Fence),
			g, w.Guard.Node, inc)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("redis: commit: %w", err)
	}
	args[0], args[1], args[2] = s.writeID(), strconv.Itoa(len(ops)), first
	return keys, args, nil
}
