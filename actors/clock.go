package actors

import "time"

// Clock tells the wall-clock time. The node reads it once, at start, to
// anchor its hybrid logical clock: versions are that reading plus the time
// elapsed on the monotonic clock since, so a wall clock stepped while the
// node runs (NTP, an operator, a VM resumed) moves no version. Tests inject
// a Clock to choose the wall time versions start from.
//
// Deadlines (TTLs, leases, fences, grace periods) never use a Clock: they
// are measured on the process's monotonic clock, read afresh every time
// (see [Node.Now]).
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to [Clock].
type ClockFunc func() time.Time

// Now implements [Clock].
func (f ClockFunc) Now() time.Time { return f() }
