package api

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
	"github.com/warpcache/warp/shard"
	"github.com/warpcache/warp/store"
)

// ErrCompareFailed: a transaction's compare-and-swap found another value;
// none of the transaction's writes was applied.
var ErrCompareFailed = errors.New("warp: compare-and-swap failed")

// ErrTxnDone: the transaction was committed already; a Txn commits once.
var ErrTxnDone = errors.New("warp: transaction already committed")

// MaxTxnOps bounds the operations of one transaction (a CompareAndSwap
// counts as one); Commit fails with ErrTooLarge above it and writes
// nothing. Every key of a transaction is fenced on every member, one bus
// round trip each, so a larger batch belongs in several transactions.
const MaxTxnOps = 1024

// Txn is a transaction: writes to several keys applied all together or not
// at all. Build one with [Warp.Txn]; it is not safe for concurrent use.
type Txn[T any] struct {
	w     *Warp[T]
	ctx   context.Context
	ops   []txnOp[T]
	fence uint64
	done  bool
}

type txnOp[T any] struct {
	kind     store.OpKind
	key      string
	value    T
	cas      bool
	old      T
	reg      *registration
	epoch    uint32
	entry    []byte
	expected merge.Version
}

// Txn starts a transaction bound to ctx.
func (w *Warp[T]) Txn(ctx context.Context) *Txn[T] { return &Txn[T]{w: w, ctx: ctx} }

// Set writes value to key when the transaction commits.
func (t *Txn[T]) Set(key string, value T) { t.add(txnOp[T]{kind: store.OpSet, key: key, value: value}) }

// Delete removes key when the transaction commits.
func (t *Txn[T]) Delete(key string) { t.add(txnOp[T]{kind: store.OpDelete, key: key}) }

// CompareAndSwap writes new to key when the transaction commits, only if
// the store's current value of key equals old (compared in encoded form);
// otherwise Commit fails with ErrCompareFailed and applies nothing. The
// comparison is against the store, never a node's cache, and the store
// applies the transaction only if the key's version has not moved since.
func (t *Txn[T]) CompareAndSwap(key string, old, new T) {
	t.add(txnOp[T]{kind: store.OpSet, key: key, value: new, cas: true, old: old})
}

// Fence makes every write of the transaction carry a lock's fencing
// token, as SetFenced does: the store refuses the whole commit (an error
// wrapping store.ErrFenced, nothing applied) if it has accepted a larger
// token for any of the transaction's keys.
func (t *Txn[T]) Fence(token uint64) { t.fence = token }

// add queues op; after Commit it is dropped, and a second Commit reports
// ErrTxnDone.
func (t *Txn[T]) add(op txnOp[T]) {
	if !t.done {
		t.ops = append(t.ops, op)
	}
}

// Commit applies the transaction: all writes or none. The store must
// commit several keys atomically (store.Committer), or Commit fails with an
// error wrapping store.ErrNotAtomic and writes nothing. Every key of the
// transaction is fenced on this node and, for distributed keys, on every
// live peer before the store commits, and released (with the new values
// installed here) after: no reader on any node sees part of the
// transaction. A key written or invalidated on this node while it was
// fenced (by a Set, or a peer's write) is not installed, since that write
// may be newer than the transaction's: its copy is dropped and the next
// read loads it. With
// StrongDistributed keys, Commit returns only once the fence holds on
// every peer, as a strong Set does.
func (t *Txn[T]) Commit() (err error) {
	start := t.w.started()
	defer func() {
		if t.w.rec != nil && len(t.ops) > 0 {
			t.w.record("txn", t.ops[0].key, start, err)
		}
	}()
	if t.done {
		return fmt.Errorf("warp: commit: %w", ErrTxnDone)
	}
	t.done = true
	if len(t.ops) == 0 {
		return nil
	}
	if len(t.ops) > MaxTxnOps {
		return fmt.Errorf("%w: commit: %d operations > MaxTxnOps %d", ErrTooLarge, len(t.ops), MaxTxnOps)
	}
	w, ctx := t.w, t.ctx
	committer, ok := w.store.(store.Committer[T])
	if !ok {
		return fmt.Errorf("warp: commit: %w", store.ErrNotAtomic)
	}
	if err := t.prepare(); err != nil {
		return err
	}
	if err := t.compare(); err != nil {
		return err
	}
	keys, distributed, strong := t.keys()
	var guard store.Guard
	if len(distributed) > 0 { // guarded by this node's membership, as a Set of these keys
		var err error
		if guard, err = w.guard("commit", keys[0]); err != nil {
			return err
		}
	}
	begun := w.node.Now()
	token := w.node.HLC().Now()
	if strong {
		for _, k := range keys {
			cur, err := w.store.Version(ctx, k)
			if err != nil {
				return fmt.Errorf("warp: commit: %w", err)
			}
			token = max(token, cur+1)
		}
	}
	byShard := w.groupByShard(keys)
	if err := w.txnFence(ctx, byShard, token); err != nil {
		return err
	}
	// Read after the fence and before the store commit: a write or an
	// invalidation after this may be newer than the commit, and the
	// shard then installs nothing for the key (messages.TxnCommit).
	gens := w.txnGens(byShard)
	if err := t.fencePeers(distributed, token); err != nil {
		return t.finish(byShard, keys, distributed, nil, gens, token, err)
	}
	if !strong {
		versions, err := committer.Commit(ctx, t.storeOps(token, guard))
		return t.finish(byShard, keys, distributed, versions, gens, token, err)
	}
	// As a strong Set's store write (setStrong): within the grace period
	// of a peer that missed a fence, guarded by this node's membership, and
	// not ended by ctx: the commit goes on within its bound, and its end
	// releases the fences or, if its outcome is open, settles it.
	cctx, cancel := w.strongWriteCtx(ctx, begun)
	run := func() error {
		defer cancel()
		versions, err := committer.Commit(cctx, t.storeOps(token, guard))
		if err != nil && mayLandLate(err) {
			// Every fence of the commit stays on until it expires.
			w.settleLater(guard)
			return guardedStoreErr(fmt.Errorf("warp: commit: %w", err))
		}
		return t.finish(byShard, keys, distributed, versions, gens, token, err)
	}
	return w.detached(ctx, w.router.Shards()[byShard[0].index], "commit", "", run, func() error {
		cancel()
		return t.finish(byShard, keys, distributed, nil, gens, token, ErrClosed)
	})
}

// finish ends a commit whose store commit returned versions and err (or
// that stopped before it with err): it installs the committed entries,
// releases the fences here and on the peers, and returns err as Commit
// reports it.
func (t *Txn[T]) finish(byShard []shardKeys, keys, distributed []string, versions []merge.Version, gens [][]uint64, token merge.Version, err error) error {
	w := t.w
	var entries [][]byte
	if err == nil {
		entries = t.entries(keys, versions)
	} else if errors.Is(err, store.ErrConflict) {
		err = fmt.Errorf("%w: %w", ErrCompareFailed, err)
	} else if !errors.Is(err, ErrQuorum) && !errors.Is(err, ErrClosed) {
		err = guardedStoreErr(fmt.Errorf("warp: commit: %w", err))
	}
	w.txnRelease(byShard, keys, entries, gens, token)
	for _, k := range distributed {
		w.bus.PublishRelease(k, token)
	}
	return err
}

// prepare validates and encodes every op.
func (t *Txn[T]) prepare() error {
	w := t.w
	if err := w.checkOpen(t.ctx, "commit"); err != nil {
		return err
	}
	for i := range t.ops {
		op := &t.ops[i]
		if err := checkKey(op.key); err != nil {
			return err
		}
		reg, epoch, err := w.lookup(op.key)
		if err != nil {
			return err
		}
		op.reg, op.epoch = reg, epoch
		if op.kind == store.OpSet {
			if op.entry, err = w.entry(op.key, reg, epoch, op.value); err != nil {
				return err
			}
		}
	}
	return nil
}

// compare checks every compare-and-swap against the store and remembers
// the version it saw, which the commit then requires.
func (t *Txn[T]) compare() error {
	for i := range t.ops {
		op := &t.ops[i]
		if !op.cas {
			continue
		}
		it, err := t.w.store.Get(t.ctx, op.key)
		if err != nil {
			return fmt.Errorf("%w: %q: %w", ErrCompareFailed, op.key, err)
		}
		want, err1 := t.w.codec.Append(nil, op.old)
		got, err2 := t.w.codec.Append(nil, it.Value)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("%w: compare %q: %w", ErrCodec, op.key, err)
		}
		if !bytes.Equal(want, got) {
			return fmt.Errorf("%w: %q holds another value", ErrCompareFailed, op.key)
		}
		op.expected = it.Version
	}
	return nil
}

// keys returns the transaction's distinct keys, sorted, those whose mode
// uses the bus, and whether any is StrongDistributed.
func (t *Txn[T]) keys() (all, distributed []string, strong bool) {
	all = make([]string, len(t.ops))
	for i, op := range t.ops {
		all[i] = op.key
		if op.reg.mode != ModeStrongLocal && t.w.bus != nil {
			distributed = append(distributed, op.key)
		}
		strong = strong || op.reg.mode == ModeStrongDistributed
	}
	slices.Sort(all)
	slices.Sort(distributed)
	return slices.Compact(all), slices.Compact(distributed), strong
}

func (t *Txn[T]) storeOps(token merge.Version, g store.Guard) []store.Op[T] {
	ops := make([]store.Op[T], 0, len(t.ops))
	for _, op := range t.ops {
		if op.cas {
			ops = append(ops, store.Op[T]{Kind: store.OpCheck, Key: op.key, Write: store.Write{Check: true, IfVersion: op.expected, Guard: g}})
		}
		ops = append(ops, store.Op[T]{Kind: op.kind, Key: op.key, Value: op.value, Write: store.Write{Min: token, Guard: g, Fence: t.fence}})
	}
	return ops
}

// entries returns, for each of the sorted keys, the entry to install for
// its last write (nil for a delete or a StrongDistributed key, which is
// reloaded instead).
func (t *Txn[T]) entries(keys []string, versions []merge.Version) [][]byte {
	out := make([][]byte, len(keys))
	i := 0
	for _, op := range t.ops {
		if op.cas {
			i++ // the OpCheck
		}
		ver := versions[i]
		i++
		t.w.node.HLC().Observe(ver)
		j, _ := slices.BinarySearch(keys, op.key)
		if op.kind != store.OpSet || op.reg.mode == ModeStrongDistributed {
			out[j] = nil
			continue
		}
		shard.PatchVersion(op.entry, ver) // the op owns its entry
		out[j] = op.entry
	}
	return out
}

// shardKeys are a transaction's keys on one shard.
type shardKeys struct {
	index int
	keys  []string
}

// groupByShard groups the sorted keys by shard, in shard order: every
// transaction fences shards in the same order, so none waits on another.
func (w *Warp[T]) groupByShard(keys []string) []shardKeys {
	type ki struct {
		shard, pos int
	}
	order := make([]ki, len(keys))
	for i, k := range keys {
		order[i] = ki{w.router.ShardIndex(w.router.Hash(k)), i}
	}
	slices.SortFunc(order, func(a, b ki) int { return cmp.Or(a.shard-b.shard, a.pos-b.pos) })
	var out []shardKeys
	for _, o := range order {
		if len(out) == 0 || out[len(out)-1].index != o.shard {
			out = append(out, shardKeys{index: o.shard})
		}
		g := &out[len(out)-1]
		g.keys = append(g.keys, keys[o.pos])
	}
	return out
}

func (w *Warp[T]) txnFence(_ context.Context, groups []shardKeys, token merge.Version) error {
	until := w.node.Now() + int64(w.fenceTTL)
	for _, g := range groups {
		rep := w.router.Replies.Get()
		if _, err := w.request(w.router.Shards()[g.index], &messages.TxnFence{Keys: g.keys, Token: token, Until: until, Reply: rep}, rep); err != nil {
			w.txnRelease(groups, nil, nil, nil, token)
			return fmt.Errorf("warp: commit: fence: %w", err)
		}
	}
	return nil
}

// txnGens returns, for every group's keys, their stripes' fill
// generations.
func (w *Warp[T]) txnGens(groups []shardKeys) [][]uint64 {
	out := make([][]uint64, len(groups))
	for i, g := range groups {
		v := w.router.Shards()[g.index]
		out[i] = make([]uint64, len(g.keys))
		for j, k := range g.keys {
			out[i][j] = v.Gen(w.router.Hash(k))
		}
	}
	return out
}

// txnRelease releases the token on every group's keys, installing
// entries[i] for keys[i] where given, unless the key's stripe moved since
// gens (from txnGens) were read.
func (w *Warp[T]) txnRelease(groups []shardKeys, keys []string, entries [][]byte, gens [][]uint64, token merge.Version) {
	for gi, g := range groups {
		es := make([][]byte, len(g.keys))
		var gs []uint64
		if entries != nil {
			gs = gens[gi]
			for i, k := range g.keys {
				j, _ := slices.BinarySearch(keys, k)
				es[i] = entries[j]
			}
		}
		rep := w.router.Replies.Get()
		_, _ = w.request(w.router.Shards()[g.index], &messages.TxnCommit{Keys: g.keys, Entries: es, Gens: gs, Token: token, Reply: rep}, rep)
	}
}

// fencePeers fences the distributed keys on every live peer, concurrently.
func (t *Txn[T]) fencePeers(keys []string, token merge.Version) error {
	if len(keys) == 0 {
		return nil
	}
	quorum := 0
	for _, op := range t.ops {
		quorum = max(quorum, op.reg.quorum)
	}
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() {
			acked, err := t.w.bus.PublishFence(t.ctx, k, token, quorum)
			if err != nil {
				errs[i] = fmt.Errorf("%w: commit: fence %q: %d peers acked: %w", ErrQuorum, k, acked, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
