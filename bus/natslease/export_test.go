package natslease

import (
	"context"
	"time"
)

// SetAttachHook makes Attach call f after its first read of the lease
// ("read") and after writing the attachment ("written"), so tests force
// its races with a revocation deterministically. Set it before any call.
func SetAttachHook(l *Leases, f func(stage string)) { l.attachHook = f }

// SetTableClock makes l's table of leases and tombstones read now instead
// of time.Now, so that tests expire tombstones without waiting.
func SetTableClock(l *Leases, now func() time.Time) {
	l.table.mu.Lock()
	defer l.table.mu.Unlock()
	l.table.now = now
}

// Bounds of the reads of unknown leases' entries.
const (
	MaxReads     = maxReads
	MaxResolving = maxResolving
)

// SetResolveHook makes l's watcher call f before each read of the entry of
// a lease that an attachment names but the watcher does not know, with
// the read's context, so that tests hold reads up.
func SetResolveHook(l *Leases, f func(ctx context.Context, id string)) {
	l.resolveHook.Store(&f)
}

// TableLen returns the number of leases l's watcher tracks, live or
// pending, and of tombstones it keeps.
func TableLen(l *Leases) (leases, tombs int) {
	l.table.mu.Lock()
	defer l.table.mu.Unlock()
	return len(l.table.leases), len(l.table.tombs)
}

// SetProbeClock makes the Leases New opens with cfg read now for the
// proofs of its watcher's connection, so that tests make a pause.
func SetProbeClock(cfg *Config, now func() time.Time) { cfg.now = now }

// AttachKey is the bucket key of the attachment of key to lease id.
func AttachKey(id, key string) string { return attachKey(id, key) }

// SetReplayHook makes the Leases New opens with cfg call f before each
// entry a replay of its watcher applies, so that tests make replays slow.
func SetReplayHook(cfg *Config, f func()) { cfg.replayHook = f }
