package natslock

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// Defaults of [Config].
const (
	DefaultBucket    = "warp_locks"
	DefaultLockTTL   = 30 * time.Second
	DefaultMarkerTTL = time.Second
)

// Config configures [New]. The zero value gives the documented defaults.
type Config struct {
	// Bucket is the JetStream KV bucket that holds the locks, one key per
	// lock name; default [DefaultBucket]. [New] creates it if missing.
	// 1 to 252 characters of [a-zA-Z0-9_-] (the server's limit).
	Bucket string
	// DefaultTTL is the lease used when a call passes ttl 0; default
	// [DefaultLockTTL]. Rounded up to whole seconds like every TTL; at
	// most [MaxTTL].
	DefaultTTL time.Duration
	// Owner identifies this locker in the lock entries (for diagnostics,
	// e.g. `nats kv get`); a Refresh writes it followed by a newline and
	// the grant's token, by which a [Lock] recognises its own entry after
	// a lost reply. Default a random 16-hex-digit id.
	Owner string
	// MarkerTTL is how long the server keeps the marker a released or
	// expired lock leaves behind (KeyValueConfig.LimitMarkerTTL); default
	// [DefaultMarkerTTL], at least 1s. Used only when creating the bucket.
	MarkerTTL time.Duration
	// Storage of a new bucket; default file storage.
	Storage jetstream.StorageType
	// Replicas of a new bucket; default 1. Use 3 in a cluster so that a
	// lock survives the loss of a server.
	Replicas int
}

func (c Config) withDefaults() (Config, error) {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.DefaultTTL == 0 {
		c.DefaultTTL = DefaultLockTTL
	}
	if c.MarkerTTL == 0 {
		c.MarkerTTL = DefaultMarkerTTL
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Owner == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.Owner = hex.EncodeToString(b[:])
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if err := jskv.CheckBucket(c.Bucket, "natslock", ErrInvalid); err != nil {
		return err
	}
	switch {
	case c.DefaultTTL < 0 || c.DefaultTTL > MaxTTL:
		return fmt.Errorf("natslock: DefaultTTL %v not in [0, %v]: %w", c.DefaultTTL, MaxTTL, ErrInvalid)
	case c.MarkerTTL < time.Second:
		return fmt.Errorf("natslock: MarkerTTL %v < 1s: %w", c.MarkerTTL, ErrInvalid)
	case c.Replicas < 0:
		return fmt.Errorf("natslock: Replicas %d < 0: %w", c.Replicas, ErrInvalid)
	}
	return nil
}
