package natslease

// SetAttachHook makes Attach call f after its first read of the lease
// ("read") and after writing the attachment ("written"), so tests force
// its races with a revocation deterministically. Set it before any call.
func SetAttachHook(l *Leases, f func(stage string)) { l.attachHook = f }
