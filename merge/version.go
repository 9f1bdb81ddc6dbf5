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

// MakeVersion returns the smallest Version at wall time t: 0 before 1970,
// [MaxVersion] past its last millisecond.
func MakeVersion(t time.Time) Version { return MakeVersionMilli(t.UnixMilli()) }

// MakeVersionMilli is [MakeVersion] of the wall time ms milliseconds after
// the Unix epoch.
func MakeVersionMilli(ms int64) Version {
	switch {
	case ms <= 0:
		return 0
	case ms > int64(MaxVersion>>logicalBits):
		return MaxVersion
	}
	return Version(uint64(ms) << logicalBits)
}

// Time returns the wall time a Version was issued at, to the millisecond.
func (v Version) Time() time.Time {
	return time.UnixMilli(int64(v >> logicalBits))
}

// Logical returns the logical counter of v.
func (v Version) Logical() uint16 { return uint16(v) }

// DefaultMaxAhead is how far ahead of the local clock [Clock.Observe]
// accepts a version when [NewClock] is given no bound.
const DefaultMaxAhead = 10 * time.Second

// Clock is a hybrid logical clock. Now never returns the same Version twice
// and never goes backwards, even when the wall clock does; Observe moves the
// clock past a Version seen from another node so that causally later writes
// get larger versions. Observe refuses a Version too far ahead of the local
// wall clock (a peer or a store whose clock runs ahead, or a forged
// version), so one bad clock cannot drag every node's clock with it; and the
// clock never passes [MaxVersion]. A Clock is safe for concurrent use; the
// zero value is not usable, build one with [NewClock].
type Clock struct {
	last     atomic.Uint64
	wall     func() time.Time
	maxAhead Version // in Version units: milliseconds << logicalBits
}

// NewClock returns a Clock that reads wall time from wall (nil means
// time.Now) and whose Observe accepts versions at most maxAhead ahead of it
// (0 means [DefaultMaxAhead]; a negative bound is an error of the caller's
// and is taken as 0 ahead).
func NewClock(wall func() time.Time, maxAhead time.Duration) *Clock {
	if wall == nil {
		wall = time.Now
	}
	if maxAhead == 0 {
		maxAhead = DefaultMaxAhead
	}
	ahead := Version(max(maxAhead.Milliseconds(), 0)) << logicalBits
	return &Clock{wall: wall, maxAhead: min(ahead, MaxVersion)}
}

// Now returns a Version larger than every Version this clock returned or
// observed before, or MaxVersion once the clock has reached it (it then
// stops: it never wraps).
func (c *Clock) Now() Version { return c.NowFrom(c.wall()) }

// NowFrom is Now with the wall time t the caller read from the clock's
// source already: a caller that needs the time anyway reads it once.
func (c *Clock) NowFrom(t time.Time) Version { return c.NowAt(MakeVersion(t)) }

// NowAt is Now with phys, the [MakeVersion] of the wall time the caller
// read from the clock's source already.
func (c *Clock) NowAt(phys Version) Version {
	for {
		last := c.last.Load()
		next := min(max(uint64(phys), last+1), uint64(MaxVersion))
		if c.last.CompareAndSwap(last, next) {
			return Version(next)
		}
	}
}

// Observe moves the clock to at least v, so that the next Now is larger,
// and reports true; or, if v is above MaxVersion or more than the clock's
// bound ahead of its wall clock, changes nothing and reports false.
func (c *Clock) Observe(v Version) bool {
	if !c.Acceptable(v) {
		return false
	}
	for {
		last := c.last.Load()
		if uint64(v) <= last || c.last.CompareAndSwap(last, uint64(v)) {
			return true
		}
	}
}

// Acceptable reports whether Observe would accept v now.
func (c *Clock) Acceptable(v Version) bool {
	if !v.Valid() {
		return false
	}
	phys := min(MakeVersion(c.wall()), MaxVersion)
	return v <= phys || v-phys <= c.maxAhead
}

// Last returns the largest Version issued or observed so far.
func (c *Clock) Last() Version { return Version(c.last.Load()) }
