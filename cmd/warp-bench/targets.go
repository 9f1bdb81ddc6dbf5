package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/allegro/bigcache/v3"

	"github.com/warpcache/warp/api"
)

// target is one system under load: get and set of []byte values.
type target struct {
	get   func(key string) (hit bool, err error)
	set   func(key string, val []byte) error
	close func()
}

var targets = map[string]func(cfg config) (*target, error){
	"warp":     newWarpTarget,
	"bigcache": newBigcacheTarget,
	"map":      newMapTarget,
}

func newWarpTarget(cfg config) (*target, error) {
	st, cleanup, err := openStore(cfg, runID())
	if err != nil {
		return nil, err
	}
	var opts []api.Option[[]byte]
	if cfg.MaxMiB > 0 {
		opts = append(opts, api.WithMaxBytes[[]byte](cfg.MaxMiB<<20))
	}
	w, err := api.New[[]byte](st, opts...)
	if err != nil {
		cleanup(true)
		return nil, err
	}
	if err := w.Register("k:*", api.ModeStrongLocal, time.Hour); err != nil {
		return nil, err
	}
	ctx := context.Background()
	return &target{
		get: func(k string) (bool, error) {
			_, err := w.Get(ctx, k)
			if errors.Is(err, api.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		},
		set: func(k string, v []byte) error { return w.Set(ctx, k, v) },
		close: func() {
			_ = w.Close()
			cleanup(true)
		},
	}, nil
}

func newBigcacheTarget(cfg config) (*target, error) {
	bc := bigcache.DefaultConfig(time.Hour)
	bc.CleanWindow, bc.Verbose = 0, false
	bc.MaxEntriesInWindow = cfg.Keys
	bc.MaxEntrySize = cfg.ValueSize + 32
	bc.HardMaxCacheSize = cfg.MaxMiB // 0: unbounded
	c, err := bigcache.New(context.Background(), bc)
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
		close: func() { _ = c.Close() },
	}, nil
}

func newMapTarget(cfg config) (*target, error) {
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
		close: func() {},
	}, nil
}
