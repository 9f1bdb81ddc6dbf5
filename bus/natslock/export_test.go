package natslock

// SetWaitHook makes Lock call f when it starts to watch a held name, so
// tests act on a waiter deterministically. Set it before any call.
func SetWaitHook(l *Locker, f func(name string)) { l.waiting = f }

// SetWrittenHook makes Refresh call f after the server stored its write;
// an error f returns is Refresh's, as if the reply had been lost. Set it
// before any call.
func SetWrittenHook(l *Locker, f func(op string) error) { l.written = f }
