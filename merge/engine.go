package merge

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/warpcache/warp/internal/pattern"
)

// ErrMerge wraps every failure of a merge function, panics included.
var ErrMerge = errors.New("merge: merge function failed")

// Func combines the current value of a key with a newly written one and
// returns the value to store. exists is false when the key has no value yet.
type Func[T any] func(current T, exists bool, incoming T) (T, error)

// FuncOf adapts a function that cannot fail.
func FuncOf[T any](f func(current T, exists bool, incoming T) T) Func[T] {
	return func(c T, ok bool, in T) (T, error) { return f(c, ok, in), nil }
}

// Engine resolves how writes to a key are combined with its current value:
// last-write-wins unless a function is registered for the key or for a
// pattern matching it (the most specific registration wins, as in Warp's
// registration table). The zero value is not usable; use [NewEngine].
type Engine[T any] struct {
	mu    sync.Mutex // serializes writers of table
	table atomic.Pointer[pattern.Table[Func[T]]]
}

// NewEngine returns an engine where every key is last-write-wins.
func NewEngine[T any]() *Engine[T] {
	e := &Engine[T]{}
	e.table.Store(pattern.NewTable[Func[T]]())
	return e
}

// Register sets the merge function of an exact key or a pattern ("user:*").
func (e *Engine[T]) Register(keyOrPattern string, fn Func[T]) error {
	if fn == nil {
		return fmt.Errorf("merge: nil function for %q", keyOrPattern)
	}
	p, err := pattern.Parse(keyOrPattern)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.table.Store(e.table.Load().With(p, fn))
	return nil
}

// Unregister makes keyOrPattern last-write-wins again.
func (e *Engine[T]) Unregister(keyOrPattern string) error {
	p, err := pattern.Parse(keyOrPattern)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.table.Store(e.table.Load().Without(p))
	return nil
}

// Lookup returns the merge function for key, if it is not last-write-wins.
func (e *Engine[T]) Lookup(key string) (Func[T], bool) {
	t := e.table.Load()
	if t.Len() == 0 {
		return nil, false
	}
	return t.Lookup(key)
}

// Merge combines current and incoming for key; a panic in the merge
// function is returned as an error wrapping [ErrMerge].
func (e *Engine[T]) Merge(key string, current T, exists bool, incoming T) (out T, err error) {
	fn, ok := e.Lookup(key)
	if !ok {
		return incoming, nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %q: panic: %v", ErrMerge, key, r)
		}
	}()
	out, err = fn(current, exists, incoming)
	if err != nil {
		return out, fmt.Errorf("%w: %q: %w", ErrMerge, key, err)
	}
	return out, nil
}

// Sum is a merge function for counters: the stored value grows by every
// write.
func Sum[T ~int | ~int32 | ~int64 | ~uint | ~uint32 | ~uint64 | ~float64](c T, _ bool, in T) (T, error) {
	return c + in, nil
}
