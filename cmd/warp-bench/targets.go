package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/allegro/bigcache/v3"
	"github.com/maypok86/otter/v2"

	"github.com/warpcache/warp/api"
)

// target is one system under load: get and set of []byte values.
type target struct {
	get   func(key string) (hit bool, err error)
	set   func(key string, val []byte) error
	close func() error
	// l1 (may be nil) returns the reads so far and those the cache served
	// itself, from the target's own counters (ok false: not counted);
	// without it found keys count.
	l1 func() (reads, hits int64, ok bool)
}

// targetNames lists targets's keys in the order a run takes them by
// default: the flag's default, its help and the report's columns come
// from it.
var targetNames = []string{"warp", "otter", "otter-ttl", "bigcache", "map"}

var targets = map[string]func(ctx context.Context, cfg config, pr *progress) (*target, error){
	"warp":      newWarpTarget,
	"otter":     newOtterTarget(0),
	"otter-ttl": newOtterTarget(warpTTL),
	"bigcache":  newBigcacheTarget,
	"map":       newMapTarget,
}

func newWarpTarget(ctx context.Context, cfg config, pr *progress) (*target, error) {
	st, err := openStore(ctx, cfg, runID())
	if err != nil {
		return nil, err
	}
	counter := &l1Counter{on: cfg.L1Hits}
	opts := counter.options()
	if cfg.MaxMiB > 0 {
		opts = append(opts, api.WithMaxBytes[[]byte](cfg.MaxMiB<<20))
	}
	closeStore := func() error {
		err := dropStore(st, pr)
		st.close()
		return err
	}
	w, err := api.New[[]byte](st.s, opts...)
	if err != nil {
		return nil, errors.Join(err, closeStore())
	}
	if err := w.Register("k:*", api.ModeStrongLocal, warpTTL); err != nil {
		return nil, errors.Join(err, w.Close(), closeStore())
	}
	bg := context.Background()
	return &target{
		get: func(k string) (bool, error) {
			_, err := w.Get(bg, k)
			if errors.Is(err, api.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		},
		set:   func(k string, v []byte) error { return w.Set(bg, k, v) },
		close: func() error { return errors.Join(w.Close(), closeStore()) },
		l1:    counter.snapshot,
	}, nil
}

// warpTTL is the TTL the warp target registers its keys with.
const warpTTL = time.Hour

// newOtterTarget returns the target of otter v2 (S3-FIFO), bounded by
// weight (key and value bytes) to -max-mib, else unbounded like the
// bigcache target. With a ttl, entries expire that long after their write,
// as the warp target's do, and otter reads the clock on every read to
// check it; without, otter never reads the clock.
func newOtterTarget(ttl time.Duration) func(context.Context, config, *progress) (*target, error) {
	return func(_ context.Context, cfg config, _ *progress) (*target, error) {
		o := &otter.Options[string, []byte]{InitialCapacity: cfg.Keys}
		if ttl > 0 {
			o.ExpiryCalculator = otter.ExpiryWriting[string, []byte](ttl)
		}
		if cfg.MaxMiB > 0 {
			o.MaximumWeight = uint64(cfg.MaxMiB) << 20
			o.Weigher = func(k string, v []byte) uint32 { return uint32(len(k) + len(v)) }
		}
		c, err := otter.New(o)
		if err != nil {
			return nil, err
		}
		return &target{
			get: func(k string) (bool, error) {
				_, ok := c.GetIfPresent(k)
				return ok, nil
			},
			set: func(k string, v []byte) error {
				c.Set(k, append([]byte(nil), v...)) // the caller's buffer is reused, as with the map
				return nil
			},
			close: func() error { c.InvalidateAll(); c.StopAllGoroutines(); return nil },
		}, nil
	}
}

func newBigcacheTarget(ctx context.Context, cfg config, _ *progress) (*target, error) {
	bc := bigcache.DefaultConfig(time.Hour)
	bc.CleanWindow, bc.Verbose = 0, false
	bc.MaxEntriesInWindow = cfg.Keys
	bc.MaxEntrySize = cfg.ValueSize + 32
	bc.HardMaxCacheSize = cfg.MaxMiB // 0: unbounded
	c, err := bigcache.New(ctx, bc)
	if err != nil {
		return nil, err
	}
	return &target{
		get: func(k string) (bool, error) {
			_, err := c.Get(k)
			if errors.Is(err, bigcache.ErrEntryNotFound) {
				return false, nil
			}
			return err == nil, err
		},
		set:   func(k string, v []byte) error { return c.Set(k, v) },
		close: c.Close,
	}, nil
}

func newMapTarget(_ context.Context, cfg config, _ *progress) (*target, error) {
	var mu sync.RWMutex
	m := make(map[string][]byte, cfg.Keys)
	return &target{
		get: func(k string) (bool, error) {
			mu.RLock()
			_, ok := m[k]
			mu.RUnlock()
			return ok, nil
		},
		set: func(k string, v []byte) error {
			c := append([]byte(nil), v...)
			mu.Lock()
			m[k] = c
			mu.Unlock()
			return nil
		},
		close: func() error { return nil },
	}, nil
}
