package natslease

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// Defaults of [Config].
const (
	DefaultBucket    = "warp_leases"
	DefaultLeaseTTL  = 30 * time.Second
	DefaultMarkerTTL = time.Minute
)

// Config configures [New]. The zero value gives the documented defaults.
type Config struct {
	// Bucket is the JetStream KV bucket that holds the leases and their
	// attachments; default [DefaultBucket]. [New] creates it if missing.
	// 1 to 252 characters of [a-zA-Z0-9_-] (the server's limit).
	Bucket string
	// DefaultTTL is the TTL [Leases.Grant] uses when passed 0; default
	// [DefaultLeaseTTL]. Rounded up to whole seconds like every TTL; at
	// most [MaxTTL].
	DefaultTTL time.Duration
	// MarkerTTL is how long the server keeps the marker that a revoked or
	// expired lease leaves behind (KeyValueConfig.LimitMarkerTTL); default
	// [DefaultMarkerTTL], at least 1s. A node whose watcher is cut off
	// for less than MarkerTTL still sees the revocation when it catches
	// up. Used only when creating the bucket.
	MarkerTTL time.Duration
	// Storage of a new bucket; default file storage.
	Storage jetstream.StorageType
	// Replicas of a new bucket; default 1. Use 3 in a cluster so that
	// leases survive the loss of a server.
	Replicas int
	// Logger receives what the watcher cannot return to a caller: a
	// recovered panic of the revoke callback, an undecodable entry, a
	// watcher stopped by a closed connection. Default: discarded.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.DefaultTTL == 0 {
		c.DefaultTTL = DefaultLeaseTTL
	}
	if c.MarkerTTL == 0 {
		c.MarkerTTL = DefaultMarkerTTL
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if err := jskv.CheckBucket(c.Bucket, "natslease", ErrInvalid); err != nil {
		return err
	}
	switch {
	case c.DefaultTTL < 0 || c.DefaultTTL > MaxTTL:
		return fmt.Errorf("natslease: DefaultTTL %v not in [0, %v]: %w", c.DefaultTTL, MaxTTL, ErrInvalid)
	case c.MarkerTTL < time.Second:
		return fmt.Errorf("natslease: MarkerTTL %v < 1s: %w", c.MarkerTTL, ErrInvalid)
	case c.Replicas < 0:
		return fmt.Errorf("natslease: Replicas %d < 0: %w", c.Replicas, ErrInvalid)
	}
	return nil
}
