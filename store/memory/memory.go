// Package memory is an in-process [store.Store]: a striped map that keeps
// versions, tombstones, fencing tokens and a bounded history per key, and
// the membership of clusters ([store.Membership]; a guarded write holds
// its cluster's read lock from its check to the end of its write, which
// Join, Expel and Leave take for writing). It is
// the store for tests, benchmarks and single-process use; values are kept as
// given, so callers must not modify a value after writing it.
package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/internal/check"
)

const stripes = 64

// Options configures a [Store]. The zero value keeps no history.
type Options struct {
	// History is how many older versions of each key GetAt can see.
	History int
	// HistoryAge, if positive, also bounds the history by age: GetAt
	// refuses (store.ErrHistory) a time older than HistoryAge ago whose
	// answer would come from an older version.
	HistoryAge time.Duration
	// Now is the clock HistoryAge is measured with; nil means time.Now.
	Now func() time.Time
}

// Store is the in-memory store. It implements [store.Store],
// [store.Committer], [store.Historian] and [store.Membership].
type Store[T any] struct {
	seed    maphash.Seed
	history int
	age     time.Duration
	now     func() time.Time
	stripes [stripes]stripe[T]
	members members
}

type stripe[T any] struct {
	mu sync.RWMutex // guards m
	m  map[string]*record[T]
	_  [32]byte // padding against false sharing
}

// record is a key's current version. Its older versions sit behind a
// pointer, so that a record of a small value fits one cache line: a write
// to a key not written for a while misses the cache once, not twice.
type record[T any] struct {
	value   T
	version merge.Version
	fence   uint64
	hist    *history[T] // nil while no older version is kept
	deleted bool
	trimmed bool // some older version was dropped from the history
}

// history is a record's older versions, oldest first.
type history[T any] struct {
	older []store.Item[T] // deleted versions are kept as a zero Item with the version
	gone  []bool
}

// New returns an empty Store.
func New[T any](opt Options) *Store[T] {
	s := &Store[T]{seed: maphash.MakeSeed(), history: max(opt.History, 0), age: opt.HistoryAge, now: opt.Now}
	if s.now == nil {
		s.now = time.Now
	}
	for i := range s.stripes {
		s.stripes[i].m = make(map[string]*record[T])
	}
	return s
}

func (s *Store[T]) stripe(key string) *stripe[T] {
	return &s.stripes[maphash.String(s.seed, key)%stripes]
}

func checkKey(ctx context.Context, key string) error {
	if key == "" {
		return fmt.Errorf("memory: empty key: %w", store.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return nil
}

// checkOp validates an op's key, versions and guard.
func checkOp[T any](ctx context.Context, op store.Op[T]) error {
	if err := checkKey(ctx, op.Key); err != nil {
		return err
	}
	if err := check.Write(op.Write); err != nil {
		return fmt.Errorf("memory: %s %q: %w", check.OpName(op.Kind), op.Key, err)
	}
	return nil
}

// Get implements [store.Store].
func (s *Store[T]) Get(ctx context.Context, key string) (store.Item[T], error) {
	if err := checkKey(ctx, key); err != nil {
		return store.Item[T]{}, err
	}
	st := s.stripe(key)
	st.mu.RLock()
	r := st.m[key]
	var it store.Item[T]
	ok := r != nil && !r.deleted
	if ok {
		it = store.Item[T]{Value: r.value, Version: r.version}
	}
	st.mu.RUnlock()
	if !ok {
		return it, fmt.Errorf("memory: get %q: %w", key, store.ErrNotFound)
	}
	return it, nil
}

// Version implements [store.Store].
func (s *Store[T]) Version(ctx context.Context, key string) (merge.Version, error) {
	if err := checkKey(ctx, key); err != nil {
		return 0, err
	}
	st := s.stripe(key)
	st.mu.RLock()
	defer st.mu.RUnlock()
	if r := st.m[key]; r != nil {
		return r.version, nil
	}
	return 0, nil
}

// Set implements [store.Store].
func (s *Store[T]) Set(ctx context.Context, key string, value T, w store.Write) (merge.Version, error) {
	return s.one(ctx, store.Op[T]{Kind: store.OpSet, Key: key, Value: value, Write: w})
}

// Delete implements [store.Store].
func (s *Store[T]) Delete(ctx context.Context, key string, w store.Write) (merge.Version, error) {
	return s.one(ctx, store.Op[T]{Kind: store.OpDelete, Key: key, Write: w})
}

func (s *Store[T]) one(ctx context.Context, op store.Op[T]) (merge.Version, error) {
	if err := checkOp(ctx, op); err != nil {
		return 0, err
	}
	if g := op.Write.Guard; !g.IsZero() {
		c, err := s.enterOne(check.OpName(op.Kind), g)
		if err != nil {
			return 0, err
		}
		defer c.mu.RUnlock()
	}
	st := s.stripe(op.Key)
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.m[op.Key]
	if err := admit(r, op); err != nil {
		return 0, err
	}
	return s.apply(st, r, op), nil
}

// admit returns the error that keeps op from applying to r (nil: r is absent).
func admit[T any](r *record[T], op store.Op[T]) error {
	var version merge.Version
	var fence uint64
	if r != nil {
		version, fence = r.version, r.fence
	}
	if (op.Write.Check || op.Kind == store.OpCheck) && version != op.Write.IfVersion {
		return fmt.Errorf("memory: %q is at version %d, not %d: %w", op.Key, version, op.Write.IfVersion, store.ErrConflict)
	}
	if op.Write.Fence != 0 && op.Write.Fence < fence {
		return fmt.Errorf("memory: %q: token %d < %d: %w", op.Key, op.Write.Fence, fence, store.ErrFenced)
	}
	switch op.Kind {
	case store.OpCheck:
		return nil
	case store.OpSet, store.OpDelete:
		if version >= merge.MaxVersion {
			return fmt.Errorf("memory: %q: version space exhausted at %d: %w", op.Key, version, store.ErrInvalid)
		}
		return nil
	default:
		return fmt.Errorf("memory: op kind %d: %w", op.Kind, store.ErrInvalid)
	}
}

// apply performs an admitted op under its stripe's lock.
func (s *Store[T]) apply(st *stripe[T], r *record[T], op store.Op[T]) merge.Version {
	if op.Kind == store.OpCheck {
		if r == nil {
			return 0
		}
		return r.version
	}
	if r == nil {
		r = &record[T]{}
		st.m[op.Key] = r
	} else if r.version != 0 && s.history == 0 {
		r.trimmed = true // the version being replaced is not kept
	} else if r.version != 0 {
		if r.hist == nil {
			r.hist = &history[T]{}
		}
		h := r.hist
		h.older = append(h.older, store.Item[T]{Value: r.value, Version: r.version})
		h.gone = append(h.gone, r.deleted)
		if n := len(h.older) - s.history; n > 0 {
			h.older = slices.Delete(h.older, 0, n)
			h.gone = slices.Delete(h.gone, 0, n)
			r.trimmed = true
		}
	}
	r.version = max(op.Write.Min, r.version+1)
	r.fence = max(r.fence, op.Write.Fence)
	var zero T
	r.value, r.deleted = zero, op.Kind == store.OpDelete
	if !r.deleted {
		r.value = op.Value
	}
	return r.version
}

// Commit implements [store.Committer]: it checks the ops' guards and holds
// their clusters' read locks, locks the stripes of every key in a fixed
// order, checks every op, then applies them all.
func (s *Store[T]) Commit(ctx context.Context, ops []store.Op[T]) ([]merge.Version, error) {
	for _, op := range ops {
		if err := checkOp(ctx, op); err != nil {
			return nil, err
		}
	}
	held, err := s.enter("commit", check.Guards(ops))
	if err != nil {
		return nil, err
	}
	defer leave(held)
	idx := make([]int, 0, len(ops))
	for _, op := range ops {
		idx = append(idx, int(maphash.String(s.seed, op.Key)%stripes))
	}
	locked := slices.Clone(idx)
	slices.Sort(locked)
	locked = slices.Compact(locked)
	for _, i := range locked {
		s.stripes[i].mu.Lock()
	}
	defer func() {
		for _, i := range locked {
			s.stripes[i].mu.Unlock()
		}
	}()
	// Ops on one key see the effect of the ops before them, so check on a
	// shadow of the versions the commit would leave.
	shadow := map[string]*record[T]{}
	for i, op := range ops {
		r, ok := shadow[op.Key]
		if !ok {
			if cur := s.stripes[idx[i]].m[op.Key]; cur != nil {
				c := *cur
				r = &c
			}
		}
		if err := admit(r, op); err != nil {
			return nil, err
		}
		if op.Kind != store.OpCheck {
			if r == nil {
				r = &record[T]{}
			}
			r.version = max(op.Write.Min, r.version+1)
			r.fence = max(r.fence, op.Write.Fence)
		}
		shadow[op.Key] = r
	}
	out := make([]merge.Version, len(ops))
	for i, op := range ops {
		st := &s.stripes[idx[i]]
		out[i] = s.apply(st, st.m[op.Key], op)
	}
	return out, nil
}

// Scan implements [store.Store]. It copies the matching items first, so fn
// may call the store.
func (s *Store[T]) Scan(ctx context.Context, prefix string, fn func(string, store.Item[T]) error) error {
	type kv struct {
		k  string
		it store.Item[T]
	}
	var all []kv
	for i := range s.stripes {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("memory: scan: %w", err)
		}
		st := &s.stripes[i]
		st.mu.RLock()
		for k, r := range st.m {
			if !r.deleted && strings.HasPrefix(k, prefix) {
				all = append(all, kv{k, store.Item[T]{Value: r.value, Version: r.version}})
			}
		}
		st.mu.RUnlock()
	}
	for _, e := range all {
		if err := fn(e.k, e.it); err != nil {
			return err
		}
	}
	return nil
}

// GetAt implements [store.Historian].
func (s *Store[T]) GetAt(ctx context.Context, key string, at merge.Version) (store.Item[T], error) {
	if err := checkKey(ctx, key); err != nil {
		return store.Item[T]{}, err
	}
	st := s.stripe(key)
	st.mu.RLock()
	defer st.mu.RUnlock()
	r := st.m[key]
	if r == nil {
		return store.Item[T]{}, fmt.Errorf("memory: %q at %d: %w", key, at, store.ErrNotFound)
	}
	if r.version <= at {
		if r.deleted {
			return store.Item[T]{}, fmt.Errorf("memory: %q at %d: %w", key, at, store.ErrNotFound)
		}
		return store.Item[T]{Value: r.value, Version: r.version}, nil
	}
	if s.age > 0 && at.Time().Before(s.now().Add(-s.age)) {
		return store.Item[T]{}, fmt.Errorf("memory: %q at %d: older than the history age %v: %w", key, at, s.age, store.ErrHistory)
	}
	if h := r.hist; h != nil {
		for i := len(h.older) - 1; i >= 0; i-- {
			if h.older[i].Version <= at {
				if h.gone[i] {
					return store.Item[T]{}, fmt.Errorf("memory: %q at %d: %w", key, at, store.ErrNotFound)
				}
				return h.older[i], nil
			}
		}
	}
	if r.trimmed { // older versions existed and were dropped
		return store.Item[T]{}, fmt.Errorf("memory: %q at %d: %w", key, at, store.ErrHistory)
	}
	return store.Item[T]{}, fmt.Errorf("memory: %q at %d: %w", key, at, store.ErrNotFound)
}

var (
	_ store.Store[int]     = (*Store[int])(nil)
	_ store.Committer[int] = (*Store[int])(nil)
	_ store.Historian[int] = (*Store[int])(nil)
)
