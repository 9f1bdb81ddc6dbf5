package main

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/merge"
)

// maxProbeReads bounds each probe reader's loop, besides its deadline: a
// backstop above what a reader that spins (-probe-spin, some ten million
// reads a second) does in the longest -duration, an hour.
const maxProbeReads = 1 << 36

// probe is the staleness checker of one phase. One writer sets the probe
// key to value s = 1, 2, 3… (its sequence, in the value's first 8 bytes)
// and records when each Set returned; readers on the other nodes poll the
// key and record when they first see a value ≥ s. The lag of write s on a
// reader is that first-seen time minus s's return time (0 if seen before
// Set returned). A read is stale when it returns a value older than the
// newest one whose Set had returned before the read began.
//
// Times come from clock: nanoseconds since the phase start in one process;
// Unix nanoseconds (the host's clock) across processes.
type probe struct {
	key   string
	clock func() int64
	base  int64 // clock value at the phase start
	size  int   // value size

	ret    []atomic.Int64 // ret[s]: when Set s returned; 0: not (yet) known
	newest atomic.Int64   // newest s whose return is known
	// vers[s] is the store's version of write s, read right after it
	// returned (0: unknown, as in another process's writer).
	vers []atomic.Uint64
	// logs[i] are the probe key's invalidations applied on local node i,
	// from its invalidation listener.
	logs []applyLog
	errs atomic.Int64
	stop atomic.Bool

	mu       sync.Mutex // guards firstErr
	firstErr error
}

func newProbe(key string, clock func() int64, base int64, size int, capacity, nodes int) *probe {
	return &probe{
		key: key, clock: clock, base: base, size: size,
		ret: make([]atomic.Int64, capacity), vers: make([]atomic.Uint64, capacity),
		logs: make([]applyLog, nodes),
	}
}

// applyLog is what one node's invalidation listener saw of the probe key.
type applyLog struct {
	mu      sync.Mutex
	events  []applyEvent // in the order applied
	flushes int          // repair flushes, which cover the key without naming it
}

type applyEvent struct {
	version merge.Version
	at      int64 // probe clock
}

// applied records node's invalidation ev if it concerns the probe key.
// It runs on the node's bus goroutine: a lock and an append.
func (p *probe) applied(node int, ev api.Invalidation) {
	if node >= len(p.logs) || !strings.HasPrefix(p.key, ev.Key) || !ev.Prefix && ev.Key != p.key {
		return
	}
	at := p.clock()
	l := &p.logs[node]
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev.Prefix {
		l.flushes++
		return
	}
	if len(l.events) < 2*len(p.ret) {
		l.events = append(l.events, applyEvent{version: ev.Version, at: at})
	}
}

// returned records that Set s returned at t (writer, or the coordinator
// relaying another process's writer).
func (p *probe) returned(s, t int64) {
	if s <= 0 || s >= int64(len(p.ret)) {
		return
	}
	p.ret[s].Store(t)
	for {
		n := p.newest.Load()
		if s <= n || p.newest.CompareAndSwap(n, s) {
			return
		}
	}
}

func (p *probe) fail(err error) {
	p.errs.Add(1)
	p.mu.Lock()
	if p.firstErr == nil {
		p.firstErr = err
	}
	p.mu.Unlock()
}

// write runs the writer on w: one write per interval until deadline, stop
// or the capacity of ret; onReturn (may be nil) publishes each return.
//
// version (may be nil) reads the probe key's version from the store after
// each write, so that apply events can be matched to writes.
func (p *probe) write(w *api.Warp[[]byte], interval time.Duration, deadline time.Time, onReturn func(s, t int64), version func() (merge.Version, error)) (writes int64) {
	ctx := context.Background()
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for s := int64(1); s < int64(len(p.ret)) && !p.stop.Load() && time.Now().Before(deadline); s++ {
		val := make([]byte, p.size) // the store keeps the value: a fresh one each time
		binary.BigEndian.PutUint64(val, uint64(s))
		if err := w.Set(ctx, p.key, val); err != nil {
			p.fail(err)
		} else {
			t := p.clock()
			if version != nil {
				if v, err := version(); err == nil {
					p.vers[s].Store(uint64(v))
				}
			}
			p.returned(s, t)
			if onReturn != nil {
				onReturn(s, t)
			}
		}
		writes++
		<-tk.C
	}
	return writes
}

// reader is one polling reader's state, touched only by its goroutine
// until the phase ends.
type reader struct {
	seen    []int64 // seen[s]: when a value ≥ s was first read; 0: never
	last    int64
	reads   int64
	stale   int64
	staleAt []int64 // when the stale reads happened (the first maxStaleTimes)
}

// maxStaleTimes bounds the stale reads a reader keeps the time of.
const maxStaleTimes = 1 << 16

// probePoll is the pause between two reads of a probe reader.
const probePoll = 20 * time.Microsecond

// pause is the pause between two reads of a probe reader, Warp's or
// rueidis's. By default they sleep, do not spin: a spinning reader holds a
// core, and on 2 cores the goroutines that carry the invalidation (the
// publisher's pump, the transport's) wait behind it — the probe then
// measures itself as much as the system. -probe-spin measures just that: a
// node whose application keeps a processor busy.
func pause(spin bool) {
	if !spin {
		time.Sleep(probePoll)
	}
}

// read polls the key on w until deadline or stop.
func (p *probe) read(w *api.Warp[[]byte], deadline time.Time, spin bool) *reader {
	ctx := context.Background()
	r := &reader{seen: make([]int64, len(p.ret))}
	for i := int64(0); i < maxProbeReads && !p.stop.Load(); i++ {
		if i&63 == 0 && time.Now().After(deadline) {
			break
		}
		floor := p.newest.Load()
		v, err := w.Get(ctx, p.key)
		r.reads++
		if err != nil || len(v) < 8 {
			if err != nil {
				p.fail(err)
			}
			continue
		}
		s := int64(binary.BigEndian.Uint64(v))
		if s < floor {
			r.stale++
			if len(r.staleAt) < maxStaleTimes {
				r.staleAt = append(r.staleAt, p.clock())
			}
		}
		if s > r.last {
			t := p.clock()
			for x := r.last + 1; x <= s && x < int64(len(r.seen)); x++ {
				r.seen[x] = t
			}
			r.last = s
		}
		pause(spin)
	}
	return r
}

// probeResult is what the readers of one process observed.
type probeResult struct {
	lag        *hdrhistogram.Histogram
	samples    []lagSample
	readers    int // reader nodes in this process; without one, nothing was observed
	unseen     int64
	reads      int64
	stale      int64
	staleAt    []int64 // probe clock
	writesSeen int64   // probe writes whose return is known
	early      int64   // samples applied (or seen) before their Set returned
	applied    bool    // lags are publish→apply (else first seen by a poll)
	flushes    int64   // repair flushes the reader nodes applied
}

// results turns the observations into lags. When every returned write's
// version is known (the writer runs in this process), a write's lag on a
// reader node is when that node applied its invalidation (from the
// node's invalidation listener) minus when Set returned: publish→apply,
// at the clock's resolution. Otherwise (another process's writer) it
// falls back to when a polling reader first saw the value, which adds
// the poll's sleep (Go's timers: from about 0.1 to 1 ms) to each lag.
func (p *probe) results(readers []*reader, readerNodes []int) probeResult {
	res := probeResult{lag: newHist(), readers: len(readers)}
	n := p.newest.Load()
	versions := true
	for s := int64(1); s <= n; s++ {
		if p.ret[s].Load() != 0 {
			res.writesSeen++
			versions = versions && p.vers[s].Load() != 0
		}
	}
	for _, r := range readers {
		res.reads += r.reads
		res.stale += r.stale
		res.staleAt = append(res.staleAt, r.staleAt...)
	}
	if versions && len(readerNodes) > 0 {
		res.applied = true
		for _, node := range readerNodes {
			p.applyLags(&res, node, n)
		}
		return res
	}
	for _, r := range readers {
		for s := int64(1); s <= n; s++ {
			rt := p.ret[s].Load()
			if rt == 0 {
				continue // failed, or its return never arrived
			}
			if r.seen[s] == 0 {
				res.unseen++
				continue
			}
			p.sample(&res, r.seen[s], rt)
		}
	}
	return res
}

// settle waits, at most bound, until every reader node has applied the
// invalidation of the last write whose version is known, so that the
// writes made just before the phase ended are not counted as unseen.
func (p *probe) settle(readerNodes []int, bound time.Duration) {
	n := p.newest.Load()
	if n < 1 {
		return
	}
	prev := merge.Version(0)
	if n > 1 {
		prev = merge.Version(p.vers[n-1].Load())
	}
	if p.vers[n].Load() == 0 {
		return // versions unknown: the lags come from the readers
	}
	deadline := time.Now().Add(bound)
	for _, node := range readerNodes {
		l := &p.logs[node]
		for {
			l.mu.Lock()
			done := len(l.events) > 0 && l.events[len(l.events)-1].version > prev
			l.mu.Unlock()
			if done || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond) // bounded by deadline; polling the listener's log
		}
	}
}

// applyLags adds node's publish→apply lags for writes 1..n: write s's
// invalidation is the first one the node applied with a version above
// write s-1's (for a StrongDistributed key the invalidation carries the
// write's fencing token, which lies between the two versions).
func (p *probe) applyLags(res *probeResult, node int, n int64) {
	l := &p.logs[node]
	l.mu.Lock()
	events := slices.Clone(l.events)
	res.flushes += int64(l.flushes)
	l.mu.Unlock()
	i := 0
	for s := int64(1); s <= n; s++ {
		rt := p.ret[s].Load()
		if rt == 0 {
			continue
		}
		prev := merge.Version(0)
		if s > 1 {
			prev = merge.Version(p.vers[s-1].Load())
		}
		for i < len(events) && events[i].version <= prev {
			i++
		}
		if i == len(events) {
			res.unseen++
			continue
		}
		p.sample(res, events[i].at, rt)
	}
}

// sample records a write that returned at rt and was seen (or applied) at
// at.
func (p *probe) sample(res *probeResult, at, rt int64) {
	if at <= rt {
		res.early++
	}
	lag := max(at-rt, 0)
	record(res.lag, lag)
	res.samples = append(res.samples, lagSample{at: at - p.base, lag: lag})
}

// stalePerSec counts the stale reads of each second of tl; base is the
// probe clock's value at the phase start.
func (res probeResult) stalePerSec(tl *timeline, base int64) map[int]*secExtra {
	out := map[int]*secExtra{}
	for _, t := range res.staleAt {
		s := tl.secOf(t - base)
		if out[s] == nil {
			out[s] = &secExtra{}
		}
		out[s].staleReads++
	}
	return out
}
