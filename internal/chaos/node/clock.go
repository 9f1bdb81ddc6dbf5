package node

import (
	"sync/atomic"
	"time"
)

// offsetClock is the wall clock plus an offset that may change at run
// time; it implements actors.Clock.
type offsetClock struct {
	offset atomic.Int64 // nanoseconds
}

// Now returns time.Now shifted by the offset. The reading keeps its
// monotonic part, shifted alike: durations between two readings taken
// under one offset are exact, and a change of offset shows as a jump.
func (c *offsetClock) Now() time.Time {
	return time.Now().Add(time.Duration(c.offset.Load()))
}

func (c *offsetClock) set(d time.Duration) { c.offset.Store(int64(d)) }

func (c *offsetClock) get() time.Duration { return time.Duration(c.offset.Load()) }
