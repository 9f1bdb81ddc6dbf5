package redis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
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
	if err := status(res, ""); err != nil {
		i, _ := res[1].(int64)
		op := ops[i-1]
		return nil, fmt.Errorf("redis: commit: op %d (%s) %w", i-1, kindName[op.Kind], status(res, op.Key))
	}
	out := make([]merge.Version, len(ops))
	for i := range out {
		if out[i], err = parseVersion(res[i+1]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var kindName = map[store.OpKind]string{store.OpSet: "set", store.OpDelete: "delete", store.OpCheck: "check"}
var kindArg = map[store.OpKind]string{store.OpSet: "s", store.OpDelete: "d", store.OpCheck: "c"}

// commitArgs validates ops and lays them out for commit.lua.
func (s *Store[T]) commitArgs(ctx context.Context, ops []store.Op[T]) ([]string, []any, error) {
	index := map[string]int{}
	var keys []string
	args := make([]any, 3, 3+7*len(ops))
	first := 0
	for i, op := range ops {
		if err := s.checkKey(ctx, "commit", op.Key); err != nil {
			return nil, nil, err
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
		k, ok := index[op.Key]
		if !ok {
			keys = append(keys, s.cfg.Prefix+op.Key)
			k = len(keys)
			index[op.Key] = k
		}
		if first == 0 && op.Kind != store.OpCheck {
			first = k
		}
		w := op.Write
		args = append(args, kind, k, b, num(w.Min), flag(w.Check), num(w.IfVersion), num(w.Fence))
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("redis: commit: %w", err)
	}
	args[0], args[1], args[2] = s.writeID(), strconv.Itoa(len(ops)), first
	return keys, args, nil
}
