package merge

import (
	"sync/atomic"
	"time"
)

// logicalBits is the number of low bits of a [Version] that hold the logical
// counter; the high bits hold milliseconds since the Unix epoch.
const logicalBits = 16

// Version is a hybrid-logical-clock timestamp: milliseconds since the Unix
// epoch in the high 48 bits and a logical counter in the low 16 bits. Versions
// of one key only ever grow; the zero Version means "never written".
type Version uint64

// MaxVersion is the largest valid Version: 2^62-1, about the year 4199 at
// one write per millisecond. Every boundary that accepts a version from
// outside the process (the bus, a store, [Clock.Observe]) rejects a larger
// one, so versions fit a signed 64-bit integer with room to spare.
const MaxVersion Version = 1<<62 - 1

// Valid reports whether v is at most [MaxVersion].
func (v Version) Valid() bool { return v <= MaxVersion }

// MakeVersion returns the smallest Version at wall time t.
func MakeVersion(t time.Time) Version {
	return Version(uint64(t.UnixMilli()) << logicalBits)
}

// Time returns the wall time a Version was issued at, to the millisecond.
func (v Version) Time() time.Time {
	return time.UnixMilli(int64(v >> logicalBits))
}

// Logical returns the logical counter of v.
func (v Version) Logical() uint16 { return uint16(v) }

// Clock is a hybrid logical clock. Now never returns the same Version twice
// and never goes backwards, even when the wall clock does; Observe moves the
// clock past a Version seen from another node so that causally later writes
// get larger versions. A Clock is safe for concurrent use; the zero value is
// not usable, build one with [NewClock].
type Clock struct {
	last atomic.Uint64
	wall func() time.Time
}

// NewClock returns a Clock that reads wall time from wall; nil means
// time.Now.
func NewClock(wall func() time.Time) *Clock {
	if wall == nil {
		wall = time.Now
	}
	return &Clock{wall: wall}
}

// Now returns a Version larger than every Version this clock returned or
// observed before.
func (c *Clock) Now() Version {
	phys := uint64(MakeVersion(c.wall()))
	for {
		last := c.last.Load()
		next := max(phys, last+1)
		if c.last.CompareAndSwap(last, next) {
			return Version(next)
		}
	}
}

// Observe moves the clock to at least v, so that the next Now is larger.
func (c *Clock) Observe(v Version) {
	for {
		last := c.last.Load()
		if uint64(v) <= last || c.last.CompareAndSwap(last, uint64(v)) {
			return
		}
	}
}

// Last returns the largest Version issued or observed so far.
func (c *Clock) Last() Version { return Version(c.last.Load()) }
