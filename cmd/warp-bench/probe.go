package main

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/warpcache/warp/api"
)

// maxProbeReads bounds each probe reader's loop, besides its deadline.
const maxProbeReads = 200_000_000

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
	errs   atomic.Int64
	stop   atomic.Bool

	mu       sync.Mutex // guards firstErr
	firstErr error
}

func newProbe(key string, clock func() int64, base int64, size int, capacity int) *probe {
	return &probe{key: key, clock: clock, base: base, size: size, ret: make([]atomic.Int64, capacity)}
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
func (p *probe) write(w *api.Warp[[]byte], interval time.Duration, deadline time.Time, onReturn func(s, t int64)) (writes int64) {
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
	seen  []int64 // seen[s]: when a value ≥ s was first read; 0: never
	last  int64
	reads int64
	stale int64
}

// probePoll is the pause between two reads of a probe reader.
const probePoll = 20 * time.Microsecond

// read polls the key on w until deadline or stop.
func (p *probe) read(w *api.Warp[[]byte], deadline time.Time) *reader {
	ctx := context.Background()
	r := &reader{seen: make([]int64, len(p.ret))}
	for i := 0; i < maxProbeReads && !p.stop.Load(); i++ {
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
		}
		if s > r.last {
			t := p.clock()
			for x := r.last + 1; x <= s && x < int64(len(r.seen)); x++ {
				r.seen[x] = t
			}
			r.last = s
		}
		// Sleep, do not spin: a spinning reader holds a core, and on 2 cores
		// the goroutines that carry the invalidation (the publisher's pump,
		// the transport's) wait behind it for milliseconds — the probe
		// would measure itself. The sleep bounds the lag's resolution
		// (about 50–100 µs with Go's timers).
		time.Sleep(probePoll)
	}
	return r
}

// probeResult is what the readers of one process observed.
type probeResult struct {
	lag        *hdrhistogram.Histogram
	samples    []lagSample
	unseen     int64
	reads      int64
	stale      int64
	writesSeen int64 // probe writes whose return is known
}

// results turns the readers' observations into lags.
func (p *probe) results(readers []*reader) probeResult {
	res := probeResult{lag: newHist()}
	n := p.newest.Load()
	for s := int64(1); s <= n; s++ {
		if p.ret[s].Load() != 0 {
			res.writesSeen++
		}
	}
	for _, r := range readers {
		res.reads += r.reads
		res.stale += r.stale
		for s := int64(1); s <= n; s++ {
			rt := p.ret[s].Load()
			if rt == 0 {
				continue // failed, or its return never arrived
			}
			if r.seen[s] == 0 {
				res.unseen++
				continue
			}
			lag := max(r.seen[s]-rt, 0)
			record(res.lag, lag)
			res.samples = append(res.samples, lagSample{at: r.seen[s] - p.base, lag: lag})
		}
	}
	return res
}
