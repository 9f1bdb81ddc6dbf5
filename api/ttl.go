package api

import (
	"math/rand/v2"
	"time"
)

// TTLStrategy computes a key's TTL each time its entry is installed.
type TTLStrategy interface {
	TTL(s KeyStats) time.Duration
}

// TTLFunc adapts a function to [TTLStrategy].
type TTLFunc func(KeyStats) time.Duration

// TTL implements [TTLStrategy].
func (f TTLFunc) TTL(s KeyStats) time.Duration { return f(s) }

// KeyStats is what a [TTLStrategy] knows about a key: its reads and writes
// on this node per minute, recently (estimated in a fixed-size sketch that
// forgets old counts; docs/adaptive-ttl.md), and the time since its
// previous write here (0 if unknown).
type KeyStats struct {
	Key        string
	Reads      uint64
	Writes     uint64
	SinceWrite time.Duration
}

// AdaptiveTTL is a TTL strategy that follows a key's read and write rates:
// a key read R times per write gets Min·(1+R/Scale), never more than Max;
// and a key written every I never keeps a copy longer than I, so frequently
// rewritten keys are reloaded rather than served long after they changed
// outside Warp.
type AdaptiveTTL struct {
	Min, Max time.Duration
	// Scale is how many reads per write double the TTL. Default 10.
	Scale float64
}

// TTL implements [TTLStrategy].
func (a AdaptiveTTL) TTL(s KeyStats) time.Duration {
	scale := a.Scale
	if scale <= 0 {
		scale = 10
	}
	perWrite := float64(s.Reads) / float64(s.Writes+1)
	ttl := time.Duration(float64(a.Min) * (1 + perWrite/scale))
	if s.SinceWrite > 0 && s.Writes > 0 {
		ttl = min(ttl, s.SinceWrite)
	}
	return min(max(ttl, a.Min), a.Max)
}

// ttlFor returns the TTL of an entry of r.
func (w *Warp[T]) ttlFor(r *registration, key string) time.Duration {
	ttl := r.ttl
	if r.strategy != nil {
		ttl = r.strategy.TTL(w.stats.snapshot(key, w.router.Hash(key), w.node.Now()))
		if ttl <= 0 {
			ttl = time.Nanosecond // a strategy that returns ≤ 0 means "do not keep"
		}
	}
	if r.jitter > 0 {
		ttl = time.Duration(float64(ttl) * (1 + r.jitter*(2*rand.Float64()-1)))
	}
	return ttl
}
