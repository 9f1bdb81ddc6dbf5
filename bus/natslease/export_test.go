package natslease

import "time"

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
