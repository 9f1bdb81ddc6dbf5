package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/api/codec"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/internal/check"
)

// Store is a [store.Store] on Redis: one hash per key with the fields v
// (value), ver (version), f (fencing token), d (deleted) and w (the id of
// the last write). It implements [store.Committer] and [store.Membership];
// it keeps no history.
// It is safe for concurrent use and does not own the client.
type Store[T any] struct {
	client goredis.UniversalClient
	codec  codec.Codec[T]
	cfg    Config
	id     string        // random, names this Store's writes
	seq    atomic.Uint64 // numbers this Store's writes
}

// New returns a Store on client. A nil codec means codec.Default[T]().
func New[T any](client goredis.UniversalClient, c codec.Codec[T], cfg Config) (*Store[T], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if client == nil {
		return nil, fmt.Errorf("redis: nil client: %w", store.ErrInvalid)
	}
	if c == nil {
		c = codec.Default[T]()
	}
	return &Store[T]{client: client, codec: c, cfg: cfg, id: rand.Text()[:16]}, nil
}

// Get implements [store.Store] with one HMGET.
func (s *Store[T]) Get(ctx context.Context, key string) (store.Item[T], error) {
	if err := s.checkKey(ctx, "get", key); err != nil {
		return store.Item[T]{}, err
	}
	f, err := s.client.HMGet(ctx, s.cfg.Prefix+key, "v", "ver", "d").Result()
	if err != nil {
		return store.Item[T]{}, fail(ctx, "get", key, err)
	}
	return s.item(key, f)
}

// item decodes the fields v, ver, d of key's hash.
func (s *Store[T]) item(key string, f []any) (store.Item[T], error) {
	if f[1] == nil || f[2] == "1" {
		return store.Item[T]{}, fmt.Errorf("redis: get %q: %w", key, store.ErrNotFound)
	}
	v, err := parseVersion("get", key, f[1])
	if err != nil {
		return store.Item[T]{}, err
	}
	b, _ := f[0].(string)
	if err := check.StoredValue(len(b), s.cfg.MaxValueSize); err != nil {
		return store.Item[T]{}, fmt.Errorf("redis: get %q: %w", key, err)
	}
	val, err := s.codec.Decode([]byte(b))
	if err != nil {
		return store.Item[T]{}, fmt.Errorf("redis: get %q: %w", key, err)
	}
	return store.Item[T]{Value: val, Version: v}, nil
}

// Version implements [store.Store] with one HGET.
func (s *Store[T]) Version(ctx context.Context, key string) (merge.Version, error) {
	if err := s.checkKey(ctx, "version", key); err != nil {
		return 0, err
	}
	ver, err := s.client.HGet(ctx, s.cfg.Prefix+key, "ver").Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fail(ctx, "version", key, err)
	}
	return parseVersion("version", key, ver)
}

// Set implements [store.Store] with one script call.
func (s *Store[T]) Set(ctx context.Context, key string, value T, w store.Write) (merge.Version, error) {
	if err := s.checkKey(ctx, "set", key); err != nil {
		return 0, err
	}
	b, err := s.encode(key, value)
	if err != nil {
		return 0, err
	}
	return s.write(ctx, "set", "s", key, b, w)
}

// Delete implements [store.Store] with one script call; the hash stays as
// a tombstone.
func (s *Store[T]) Delete(ctx context.Context, key string, w store.Write) (merge.Version, error) {
	if err := s.checkKey(ctx, "delete", key); err != nil {
		return 0, err
	}
	return s.write(ctx, "delete", "d", key, nil, w)
}

func (s *Store[T]) write(ctx context.Context, op, kind, key string, b []byte, w store.Write) (merge.Version, error) {
	if err := check.Write(w); err != nil {
		return 0, fmt.Errorf("redis: %s %q: %w", op, key, err)
	}
	keys, args := s.newWriteArgs(kind, key, b, w)
	res, err := writeScript.Run(ctx, s.client, keys, args...).Result()
	if err != nil {
		return 0, fail(ctx, op, key, err)
	}
	if ver, ok := res.(string); ok {
		return parseVersion(op, key, ver)
	}
	failed, _ := res.([]any)
	return 0, fmt.Errorf("redis: %s %w", op, status(failed, key, w.Guard))
}

// status turns a script's failure reply into an error naming key and, if
// the write's guard failed, g; a reply that is no failure is an unexpected
// one (a write that applied answers its bare version).
func status(res []any, key string, g store.Guard) error {
	if len(res) == 0 {
		return fmt.Errorf("%q: empty script reply", key)
	}
	code, _ := res[0].(int64)
	switch code {
	case statusNotMember:
		return fmt.Errorf("%q: %w", key, check.NotMember(g))
	case statusConflict:
		return fmt.Errorf("%q is at version %s: %w", key, digits(res[len(res)-1]), store.ErrConflict)
	case statusFenced:
		return fmt.Errorf("%q has token %s: %w", key, digits(res[len(res)-1]), store.ErrFenced)
	case statusOverflow:
		return fmt.Errorf("%q: version space exhausted at merge.MaxVersion: %w", key, store.ErrInvalid)
	}
	return fmt.Errorf("%q: unexpected script reply %v", key, res)
}

// digits trims a script's 20-digit number for a message.
func digits(v any) string {
	if d := strings.TrimLeft(fmt.Sprint(v), "0"); d != "" {
		return d
	}
	return "0"
}

// writeID names one write, so that a script run again by the client's
// retry after a lost reply returns the first run's result instead of
// writing again.
func (s *Store[T]) writeID() string {
	var b [48]byte
	return string(s.appendWriteID(b[:0]))
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (s *Store[T]) checkKey(ctx context.Context, op, key string) error {
	switch {
	case key == "":
		return fmt.Errorf("redis: %s: empty key: %w", op, store.ErrInvalid)
	case key[0] == reserved[0]:
		return fmt.Errorf("redis: %s %q: keys starting with NUL are reserved for the store's own hashes: %w", op, key, store.ErrInvalid)
	case len(key) > s.cfg.MaxKeyLen:
		return fmt.Errorf("redis: %s: key of %d bytes > %d: %w", op, len(key), s.cfg.MaxKeyLen, store.ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis: %s %q: %w", op, key, err)
	}
	return nil
}

func (s *Store[T]) encode(key string, v T) ([]byte, error) {
	b, err := s.codec.Append(nil, v)
	if err != nil {
		return nil, fmt.Errorf("redis: encode %q: %w", key, err)
	}
	if len(b) > s.cfg.MaxValueSize {
		return nil, fmt.Errorf("redis: value of %q: %d bytes > %d: %w", key, len(b), s.cfg.MaxValueSize, store.ErrTooLarge)
	}
	return b, nil
}

// fail wraps an error from the server or the connection; if ctx ended, the
// error also wraps ctx's error. A CROSSSLOT reply means a Cluster could not
// run a commit's keys together.
func fail(ctx context.Context, op, key string, err error) error {
	if key != "" {
		op = fmt.Sprintf("%s %q", op, key)
	}
	if strings.HasPrefix(err.Error(), "CROSSSLOT") {
		return fmt.Errorf("redis: %s: keys in several cluster slots (use a hash tag in Config.Prefix): %w: %w", op, store.ErrNotAtomic, err)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("redis: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

var (
	_ store.Store[int]     = (*Store[int])(nil)
	_ store.Committer[int] = (*Store[int])(nil)
)
