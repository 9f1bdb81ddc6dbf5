package api

import (
	"math"
	"sync/atomic"
	"time"
)

// The shape of keyStats' sketch: statsRows rows of statsWidth slots of 32
// bytes, 2 MiB in all, allocated when the first dynamic-TTL entry is
// installed, whatever the number of keys.
const (
	statsRows  = 4
	statsWidth = 1 << 14 // a power of two
	// statsWindow is the span the rates are measured over: an estimate
	// counts the events of the last one to two windows, scaled to one.
	statsWindow = time.Minute
	// statsUnit is one event in the counters' fixed point, so that
	// rescaling keeps fractions of an event for a while.
	statsUnit = 256
	// noWrite marks a slot that no write has touched.
	noWrite = math.MinInt64
)

// keyStats estimates how often each key with a dynamic TTL is read and
// written on this node lately. Other keys are not counted, so their reads
// pay nothing for it. Its zero value is ready; the sketch is allocated by
// the first snapshot or write.
//
// It is a count-min sketch: a key adds to one slot in each row, chosen by
// its hash (the router's, which a Get has already computed), and its
// estimate is the smallest of those slots, which over-counts by what
// colliding keys added and never under-counts (except
// for increments racing a rescale). Each slot measures rates over a window
// that starts at most 2·statsWindow ago: when a snapshot or write finds it
// older, the slot's counts are scaled down to the last statsWindow at the
// average rate since it began, so old traffic decays geometrically and a
// key's estimate follows what it does now, not its history.
type keyStats struct {
	sk atomic.Pointer[statsSketch]
}

type statsSketch struct {
	slots [statsRows * statsWidth]statSlot
}

type statSlot struct {
	reads, writes atomic.Uint64 // events since start, in 1/statsUnit
	start         atomic.Int64  // node-clock nanoseconds: the window's start
	lastWrite     atomic.Int64  // node-clock nanoseconds, or noWrite
}

// sketch returns the sketch, allocating it with every window starting at now.
func (s *keyStats) sketch(now int64) *statsSketch {
	if sk := s.sk.Load(); sk != nil {
		return sk
	}
	sk := &statsSketch{}
	for i := range sk.slots {
		sk.slots[i].start.Store(now)
		sk.slots[i].lastWrite.Store(noWrite)
	}
	if !s.sk.CompareAndSwap(nil, sk) {
		return s.sk.Load()
	}
	return sk
}

// rows returns the slot in each row of the key whose hash is h (double
// hashing: row i takes h1 + i·h2).
func (sk *statsSketch) rows(h uint64) (out [statsRows]*statSlot) {
	h1, h2 := uint32(h), uint32(h>>32)|1
	for i := range uint32(statsRows) {
		out[i] = &sk.slots[i*statsWidth+(h1+i*h2)&(statsWidth-1)]
	}
	return out
}

// read counts a read of the key whose hash is h. Reads happen only on entries installed after
// a snapshot, so before the sketch exists there is nothing to count.
func (s *keyStats) read(h uint64) {
	if sk := s.sk.Load(); sk != nil {
		for _, sl := range sk.rows(h) {
			sl.reads.Add(statsUnit)
		}
	}
}

// wrote counts a write at now of the key whose hash is h.
func (s *keyStats) wrote(h uint64, now int64) {
	for _, sl := range s.sketch(now).rows(h) {
		sl.age(now)
		sl.writes.Add(statsUnit)
		for lw := sl.lastWrite.Load(); lw < now; lw = sl.lastWrite.Load() {
			if sl.lastWrite.CompareAndSwap(lw, now) {
				break
			}
		}
	}
}

// snapshot estimates key's (hash h) recent reads and writes per
// statsWindow, and the time since its last write (0 if none is known).
func (s *keyStats) snapshot(key string, h uint64, now int64) KeyStats {
	reads, writes := uint64(math.MaxUint64), uint64(math.MaxUint64)
	lastWrite := int64(math.MaxInt64)
	for _, sl := range s.sketch(now).rows(h) {
		sl.age(now)
		r, w := sl.rates(now)
		reads, writes = min(reads, r), min(writes, w)
		lastWrite = min(lastWrite, sl.lastWrite.Load())
	}
	st := KeyStats{Key: key, Reads: reads, Writes: writes}
	if lastWrite != noWrite && now > lastWrite {
		st.SinceWrite = time.Duration(now - lastWrite)
	}
	return st
}

// age rescales the slot's counts to the last statsWindow, at their average
// rate since the window began, once that is more than two windows ago.
// Of concurrent callers, the one that moves start rescales.
func (sl *statSlot) age(now int64) {
	start := sl.start.Load()
	elapsed := now - start
	if elapsed <= 2*int64(statsWindow) || !sl.start.CompareAndSwap(start, now-int64(statsWindow)) {
		return
	}
	f := float64(statsWindow) / float64(elapsed)
	scale(&sl.reads, f)
	scale(&sl.writes, f)
}

// scale multiplies c by f (< 1).
func scale(c *atomic.Uint64, f float64) {
	for {
		v := c.Load()
		if c.CompareAndSwap(v, uint64(float64(v)*f)) {
			return
		}
	}
}

// rates returns the slot's reads and writes per statsWindow, rounded up so
// that any event still counted shows.
func (sl *statSlot) rates(now int64) (reads, writes uint64) {
	f := 1.0
	if elapsed := now - sl.start.Load(); elapsed > int64(statsWindow) {
		f = float64(statsWindow) / float64(elapsed)
	}
	per := func(c uint64) uint64 { return uint64(math.Ceil(float64(c) * f / statsUnit)) }
	return per(sl.reads.Load()), per(sl.writes.Load())
}
