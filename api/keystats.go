package api

import (
	"sync"
	"sync/atomic"
	"time"
)

// keyStats counts reads and writes of keys with a dynamic TTL; other keys
// are not counted, so their reads pay nothing for it.
type keyStats struct {
	m sync.Map // key → *keyStat
}

type keyStat struct {
	reads, writes atomic.Uint64
	lastWrite     atomic.Int64 // node-clock nanoseconds
}

func (s *keyStats) get(key string) *keyStat {
	if v, ok := s.m.Load(key); ok {
		return v.(*keyStat)
	}
	v, _ := s.m.LoadOrStore(key, &keyStat{})
	return v.(*keyStat)
}

func (s *keyStats) read(key string) { s.get(key).reads.Add(1) }

func (s *keyStats) wrote(key string, now int64) *keyStat {
	k := s.get(key)
	k.writes.Add(1)
	k.lastWrite.Store(now)
	return k
}

func (s *keyStats) snapshot(key string, now int64) KeyStats {
	k := s.get(key)
	st := KeyStats{Key: key, Reads: k.reads.Load(), Writes: k.writes.Load()}
	if lw := k.lastWrite.Load(); lw > 0 && now > lw {
		st.SinceWrite = time.Duration(now - lw)
	}
	return st
}
