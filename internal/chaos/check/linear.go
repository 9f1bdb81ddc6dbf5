package check

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/warpcache/warp/internal/chaos/history"
)

// regInput is a register operation: a write of value, or a read.
type regInput struct {
	write bool
	value string
}

// absent is what a read that found nothing returned; no write writes it.
const absent = "\x00absent"

// registerModel is a register of strings whose initial value is initial.
func registerModel(initial string) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return initial },
		Hash: func(state any) uint64 {
			h := fnv.New64a()
			_, _ = h.Write([]byte(state.(string)))
			return h.Sum64()
		},
		Step: func(state, in, out any) (bool, any) {
			if i := in.(regInput); i.write {
				return true, i.value
			}
			return out.(string) == state.(string), state
		},
		DescribeOperation: func(in, out any) string {
			if i := in.(regInput); i.write {
				return "set " + i.value
			}
			if out.(string) == absent {
				return "get → not found"
			}
			return "get → " + out.(string)
		},
		DescribeState: func(state any) string { return state.(string) },
	}
}

// Verdict is porcupine's judgement of one key's history.
type Verdict struct {
	Key string
	// Result is porcupine.Ok, Illegal, or Unknown (the check timed out).
	Result porcupine.CheckResult
	// Ops is how many operations the key's history has.
	Ops   int
	model porcupine.Model
	info  porcupine.LinearizationInfo
}

// Visualize writes porcupine's HTML visualization of v to path.
func (v Verdict) Visualize(path string) error {
	if err := porcupine.VisualizePath(v.model, v.info, path); err != nil {
		return fmt.Errorf("check: visualize %s: %w", v.Key, err)
	}
	return nil
}

// Linearizable checks each key that starts with prefix against a register
// holding initial at the start, each key for at most timeout (positive),
// cut to what is left before ctx's deadline, and returns one verdict per
// key checked, sorted by key. Once ctx is done it checks no further key
// and returns the verdicts it has with ctx's error.
func Linearizable(ctx context.Context, ops []history.Op, prefix, initial string, timeout time.Duration) ([]Verdict, error) {
	end := int64(0)
	for _, op := range ops {
		if op.Status != history.Unknown {
			end = max(end, op.Return)
		}
		end = max(end, op.Call)
	}
	end++ // after every answered operation: when an unknown write may end
	model := registerModel(initial)
	var out []Verdict
	var err error
	for key, ki := range index(ops, prefix, initial) {
		limit := timeout
		if d, ok := ctx.Deadline(); ok {
			limit = min(limit, time.Until(d))
		}
		if err = ctx.Err(); err == nil && limit <= 0 {
			err = context.DeadlineExceeded
		}
		if err != nil {
			break
		}
		h := porcupineOps(ki, end)
		res, info := porcupine.CheckOperationsVerbose(model, h, limit)
		out = append(out, Verdict{Key: key, Result: res, Ops: len(h), model: model, info: info})
	}
	slices.SortFunc(out, func(a, b Verdict) int { return cmp.Compare(a.Key, b.Key) })
	return out, err
}

// porcupineOps turns one key's reads and writes into porcupine operations.
func porcupineOps(ki *keyIndex, end int64) []porcupine.Operation {
	var h []porcupine.Operation
	for _, r := range ki.reads {
		out := r.value
		if !r.found {
			out = absent
		}
		h = append(h, porcupine.Operation{ClientId: r.op.Client, Input: regInput{}, Call: r.op.Call, Output: out, Return: r.op.Return})
	}
	for _, value := range slices.Sorted(maps.Keys(ki.writes)) {
		w := ki.writes[value]
		if w.op == nil || w.failed {
			continue // the initial value, or a write that changed nothing
		}
		ret := w.ret
		if ret == never {
			ret = end
		}
		h = append(h, porcupine.Operation{ClientId: w.op.Client, Input: regInput{write: true, value: value}, Call: w.call, Output: "", Return: ret})
	}
	return h
}
