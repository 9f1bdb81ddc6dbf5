package redis

import (
	"fmt"

	"github.com/warpcache/warp/store"
)

// Defaults and hard limits of [Config].
const (
	DefaultPrefix       = "warp:"
	DefaultMaxKeyLen    = 1024
	DefaultMaxValueSize = 16 << 20
	// MaxValueSizeLimit is Redis's limit on a string (proto-max-bulk-len
	// by default).
	MaxValueSizeLimit = 512 << 20
)

// Config configures a [Store]. The zero value stores keys under "warp:"
// with 1 KiB keys and 16 MiB values.
type Config struct {
	// Prefix is put in front of every key to name its hash; Scan only looks
	// at keys under it, so it should belong to this store alone. With a
	// Redis Cluster, a hash tag such as "{warp}:" keeps every key in one
	// slot, which Commit needs. Default "warp:".
	Prefix string
	// MaxKeyLen is the longest key in bytes, not counting Prefix; longer
	// keys fail with store.ErrTooLarge. Default 1024.
	MaxKeyLen int
	// MaxValueSize is the largest encoded value in bytes; larger ones fail
	// with store.ErrTooLarge. Default 16 MiB, at most MaxValueSizeLimit.
	// A larger value read back (written by something else than this
	// store, or under a larger MaxValueSize) is an error wrapping
	// store.ErrInvalid, not a value.
	MaxValueSize int
}

func (c Config) withDefaults() (Config, error) {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.MaxKeyLen == 0 {
		c.MaxKeyLen = DefaultMaxKeyLen
	}
	if c.MaxValueSize == 0 {
		c.MaxValueSize = DefaultMaxValueSize
	}
	switch {
	case c.MaxKeyLen < 0:
		return c, fmt.Errorf("redis: max key length %d < 0: %w", c.MaxKeyLen, store.ErrInvalid)
	case c.MaxValueSize < 0 || c.MaxValueSize > MaxValueSizeLimit:
		return c, fmt.Errorf("redis: max value size %d not in [1, %d]: %w", c.MaxValueSize, MaxValueSizeLimit, store.ErrInvalid)
	}
	return c, nil
}
