package natslock

// SetWaitHook makes Lock call f when it starts to watch a held name, so
// tests act on a waiter deterministically. Set it before any call.
func SetWaitHook(l *Locker, f func(name string)) { l.waiting = f }
