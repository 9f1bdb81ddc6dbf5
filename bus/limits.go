package bus

import "time"

// limiter bounds the work other nodes can make this node do: envelopes
// retransmitted per second, and flushes and prefix invalidations applied
// per FlushInterval. Owned by the actor.
type limiter struct {
	rate       uint64 // retransmitted envelopes allowed per second
	budget     uint64 // left in the current second
	refilledAt time.Time
	flushEvery time.Duration
	lastFlush  time.Time
	// prefixes counts the prefix invalidations applied since prefixesAt,
	// at most maxPrefixScans a FlushInterval.
	prefixes   int
	prefixesAt time.Time
}

// maxPrefixScans bounds the prefix invalidations this node applies for
// other nodes per FlushInterval: each scans every cached key of every
// shard, so one message of 65,536 of them would cost 65,536 full scans.
// One past the bound is applied as a flush, which covers it (and is itself
// at most one a FlushInterval).
const maxPrefixScans = 1024

// prefix reports whether a prefix invalidation may be applied now, and if
// so counts it.
func (l *limiter) prefix(now time.Time) bool {
	if l.prefixesAt.IsZero() || now.Sub(l.prefixesAt) >= l.flushEvery {
		l.prefixes, l.prefixesAt = 0, now
	}
	if l.prefixes >= maxPrefixScans {
		return false
	}
	l.prefixes++
	return true
}

func newLimiter(cfg Config) limiter {
	return limiter{rate: uint64(cfg.RetransmitRate), budget: uint64(cfg.RetransmitRate), flushEvery: cfg.FlushInterval}
}

// refill adds to the retransmit budget what the time since the last
// refill earned, up to a second's worth (a token bucket): a requester
// whose gap outruns the rate makes progress at every request.
func (l *limiter) refill(now time.Time) {
	if l.refilledAt.IsZero() {
		l.refilledAt = now
		return
	}
	if earned := uint64(float64(l.rate) * now.Sub(l.refilledAt).Seconds()); earned > 0 {
		l.budget = min(l.rate, l.budget+earned)
		l.refilledAt = now
	}
}

// retransmit takes up to n envelopes from the budget and returns how many.
func (l *limiter) retransmit(n uint64) uint64 {
	n = min(n, l.budget)
	l.budget -= n
	return n
}

// flush reports whether a flush may be applied now, and if so counts it.
func (l *limiter) flush(now time.Time) bool {
	if !l.lastFlush.IsZero() && now.Sub(l.lastFlush) < l.flushEvery {
		return false
	}
	l.lastFlush = now
	return true
}
