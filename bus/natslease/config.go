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
	// DefaultMaxAttachments is the default of [Config.MaxAttachments].
	DefaultMaxAttachments = 65536
	// DefaultMaxLeases is the default of [Config.MaxLeases].
	DefaultMaxLeases = 1 << 20
)

// maxMaxAttachments is the largest [Config.MaxAttachments]: about 1 GB of
// keys of [MaxKeyLen] bytes for one lease, in every node's memory.
const maxMaxAttachments = 1 << 20

// maxMaxLeases is the largest [Config.MaxLeases]: a few GB of leases
// without keys, in every node's memory.
const maxMaxLeases = 1 << 24

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
	// [DefaultMarkerTTL], at least 1s; keep it at 30s or more in
	// production (a consumer the server loses is recreated after 10 to
	// 20s, and a shorter MarkerTTL makes that a flush). A node whose
	// watcher is cut off for less than MarkerTTL/2 still sees the
	// revocation when it catches up; after a longer gap it flushes (see
	// Flush). Used only when creating the bucket.
	MarkerTTL time.Duration
	// Storage of a new bucket; default file storage.
	Storage jetstream.StorageType
	// Replicas of a new bucket; default 1. Use 3 in a cluster so that
	// leases survive the loss of a server.
	Replicas int
	// MaxAttachments bounds the keys attached to one lease; default
	// [DefaultMaxAttachments], at most 1,048,576 (1<<20). Use the same
	// bound on every node. [Leases.Attach] of a new key to a lease that
	// has that many (as this node's watcher knows them) fails with
	// [ErrTooManyKeys]; [Leases.KeepAlive] of a lease that has more on the
	// server revokes it. Past the bound (other clients can write the
	// bucket), the watcher stops recording the lease's keys, and its end
	// calls Flush instead of the [RevokeFunc]; see Flush.
	MaxAttachments int
	// MaxLeases bounds the leases the watcher tracks, live or pending
	// (named by attachments only), and, separately, the ended leases it
	// remembers (tombstones); default [DefaultMaxLeases], at most
	// 16,777,216 (1<<24). Past the bound (other clients can write the
	// bucket), the watcher tracks no new lease: a key attached to a lease
	// it does not track is revoked at once, alone, and that lease's end
	// calls Flush instead of the [RevokeFunc], even if the lease is
	// tracked by then; this lasts for the life of the Leases (see Bounds
	// in the package documentation). Past the bound, the tombstone due
	// soonest is forgotten. Without a Flush, the watcher tracks every
	// lease, without bound, and logs a warning.
	MaxLeases int
	// Flush is called, instead of the [RevokeFunc], at the end of a lease
	// whose keys the watcher did not keep: one that had more than
	// MaxAttachments keys attached, or one with a key attached while the
	// watcher did not track it (past MaxLeases). It is also called, with
	// an empty id, when the watcher may have missed lease ends: it proves
	// its watch delivers by writing a probe entry every MarkerTTL/8 and
	// taking it back, and a gap of MarkerTTL/2 or more between two proofs
	// (a partition, a reconnection, a paused process, a held-up watcher, a
	// consumer lost on the server) may have let the server remove end
	// markers it never received; and when the client ended its watch
	// (then again once a new watch has replayed the bucket). The node
	// must drop every cached key that
	// may have been attached, i.e. flush its cache. It is called like the
	// RevokeFunc (see [New]), on the watcher's goroutine: both must
	// return well within MarkerTTL/2, or the watcher takes the time for a
	// gap and flushes again (see docs/leases.md). If nil, the watcher cannot drop a lease's
	// keys safely, so it keeps recording them past MaxAttachments and
	// MaxLeases, with no bound on its memory, and logs a warning; Attach
	// and KeepAlive are bounded all the same; where it would flush, it
	// logs an error.
	Flush FlushFunc
	// Logger receives what the watcher cannot return to a caller: a
	// recovered panic of the revoke callback, an undecodable entry, a
	// watcher stopped by a closed connection. Default: discarded.
	Logger *slog.Logger

	// now is the watcher's clock for its probes (tests); default time.Now.
	now func() time.Time
	// replayHook, if set (tests), is called before each entry a replay
	// applies, so that tests make a replay slow.
	replayHook func()
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
	if c.MaxAttachments == 0 {
		c.MaxAttachments = DefaultMaxAttachments
	}
	if c.MaxLeases == 0 {
		c.MaxLeases = DefaultMaxLeases
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
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
	case c.MaxAttachments < 0 || c.MaxAttachments > maxMaxAttachments:
		return fmt.Errorf("natslease: MaxAttachments %d not in [0, %d]: %w", c.MaxAttachments, maxMaxAttachments, ErrInvalid)
	case c.MaxLeases < 0 || c.MaxLeases > maxMaxLeases:
		return fmt.Errorf("natslease: MaxLeases %d not in [0, %d]: %w", c.MaxLeases, maxMaxLeases, ErrInvalid)
	}
	return nil
}
