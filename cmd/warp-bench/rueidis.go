package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/redis/rueidis"
)

// rueidisReport is the baseline a user would pick instead of Warp's
// eventual mode: Redis server-assisted client-side caching through
// rueidis (tracking, opt-in). One writer client writes a probe key every
// -probe-interval while -concurrency workers write other keys at the
// eventual phase's measured write rate; a reader client per other node
// polls the probe key through its cache. A write's lag on a reader is
// from the writer's SET returning to the reader receiving the
// invalidation (rueidis drops its cached copy before it calls back):
// when it stops serving the old value, as Warp's "apply" lag.
//
// Redis sends a client one invalidation per read it tracks, so a write
// that comes before the reader has read the key again sends that reader
// nothing: it counts as untracked, not as a sample.
type rueidisReport struct {
	Name string `json:"name"`
	// Skipped says why the baseline did not run (Redis unreachable, ...);
	// every figure is then n/a.
	Skipped      string  `json:"skipped,omitempty"`
	Readers      int     `json:"readers"`
	TargetRate   float64 `json:"target_rate"`
	Writes       int64   `json:"writes"`
	WritesPerSec float64 `json:"writes_per_sec"`
	ProbeWrites  int64   `json:"probe_writes"`
	LagSamples   int64   `json:"lag_samples"`
	BeforeReturn count   `json:"applied_before_return"`
	LagP50us     figure  `json:"lag_p50_us"`
	LagP99us     figure  `json:"lag_p99_us"`
	LagMaxus     figure  `json:"lag_max_us"`
	// Untracked counts probe writes × readers that gave no sample: the
	// reader held no tracked copy then (or the invalidation came after
	// the end).
	Untracked  int64  `json:"untracked"`
	Flushes    int64  `json:"flushes"`
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

// rueidisDialTimeout bounds connecting to Redis for the baseline.
const rueidisDialTimeout = time.Second

// rueidisWriterRate is the most writes/s one writer goroutine of the
// baseline is asked for: a SET round trip takes up to a few hundred µs
// on a loaded host.
const rueidisWriterRate = 1000

// runRueidis runs the baseline for min(-duration, 2s) against -redis-addr;
// without Redis it returns a report that says why it was skipped.
func runRueidis(ctx context.Context, c *cluster, res *result, runStart time.Time, pr *progress) (rueidisReport, []point) {
	cfg := c.cfg
	dur := min(cfg.Duration, 2*time.Second)
	rate := 0.0
	if ev := res.mode("eventual"); ev != nil {
		rate = ev.WritesPerSec
	}
	rep := rueidisReport{Name: "Redis client-side caching (rueidis, tracking opt-in)", Readers: c.total - 1, TargetRate: rate}
	pr.note("baseline: %s, %d readers, %.0f writes/s, for %v", rep.Name, rep.Readers, rate, dur)
	b, err := newRueidisBench(cfg, redisPrefix(c.name)+"cs:", rep.Readers)
	if err != nil {
		rep.Skipped = err.Error()
		pr.printf("  rueidis baseline n/a: %s", rep.Skipped)
		return rep, nil
	}
	defer b.close(pr)
	tl := newTimeline("rueidis", runStart, b.start, dur)
	stop := pr.watch(func(el time.Duration) string { return fmt.Sprintf("rueidis baseline %v/%v", el, dur) })
	defer stop()
	return b.run(ctx, cfg, rep, rate, b.start, dur, tl)
}

// probeValue is write s's value: s in the first 8 bytes.
func probeValue(s int64, size int) string {
	v := make([]byte, size)
	binary.BigEndian.PutUint64(v, uint64(s))
	return string(v)
}

// run drives the probe, the readers and the write load for dur.
func (b *rueidisBench) run(ctx context.Context, cfg config, rep rueidisReport, rate float64, start time.Time, dur time.Duration, tl *timeline) (rueidisReport, []point) {
	probe := b.prefix + "probe"
	var errs atomic.Int64
	var mu sync.Mutex // guards firstErr
	var firstErr error
	fail := func(err error) {
		errs.Add(1)
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	if err := b.writer.Do(ctx, b.writer.B().Set().Key(probe).Value(probeValue(0, cfg.ValueSize)).Build()).Error(); err != nil {
		rep.Skipped = fmt.Sprintf("redis at %s: %v", cfg.RedisAddr, err)
		return rep, nil
	}
	deadline := start.Add(dur)
	capacity := int(min(int64(dur/cfg.ProbeInterval)+2, 1<<20))
	ret := make([]atomic.Int64, capacity)
	var newest atomic.Int64
	var wg sync.WaitGroup
	for _, r := range b.readers {
		wg.Go(func() { b.read(ctx, r, probe, deadline, cfg.ProbeSpin, &newest, fail) })
	}
	var writes atomic.Int64
	if rate > 0 {
		// Enough writers that each waits for at most rueidisWriterRate
		// writes/s: rueidis pipelines their SETs on one connection.
		n := max(cfg.Concurrency, int(rate/rueidisWriterRate)+1)
		for w := range n {
			wg.Go(func() { b.load(ctx, cfg, w, rate/float64(n), deadline, tl, &writes, fail) })
		}
	}
	probeWrites := b.writeProbe(ctx, cfg, probe, deadline, ret, &newest, fail)
	wg.Wait()
	b.settle(newest.Load(), time.Second)
	el := time.Since(start).Seconds()
	rep.Writes, rep.WritesPerSec, rep.ProbeWrites = writes.Load(), float64(writes.Load())/el, probeWrites
	lag, samples := b.lags(&rep, ret)
	rep.LagSamples = lag.TotalCount()
	rep.LagP50us, rep.LagP99us, rep.LagMaxus = quantileOf(lag, 50), quantileOf(lag, 99), maxOf(lag)
	rep.Errors = errs.Load()
	if firstErr != nil {
		rep.FirstError = firstErr.Error()
	}
	if ctx.Err() != nil {
		return rep, nil
	}
	return rep, tl.finish(samples)
}

// writeProbe writes the probe key every -probe-interval until deadline
// and records each SET's return; it returns the writes made.
func (b *rueidisBench) writeProbe(ctx context.Context, cfg config, probe string, deadline time.Time, ret []atomic.Int64, newest *atomic.Int64, fail func(error)) int64 {
	tk := time.NewTicker(cfg.ProbeInterval)
	defer tk.Stop()
	bg := context.Background() // a write in flight completes: nothing lands after the clean-up
	var n int64
	for s := int64(1); s < int64(len(ret)) && ctx.Err() == nil && time.Now().Before(deadline); s++ {
		if err := b.writer.Do(bg, b.writer.B().Set().Key(probe).Value(probeValue(s, cfg.ValueSize)).Build()).Error(); err != nil {
			fail(err)
		} else {
			ret[s].Store(int64(time.Since(b.start)))
			newest.Store(s)
		}
		n++
		<-tk.C
	}
	return n
}

// read polls the probe key through r's cache, sleeping probePoll between
// reads (unless spin) as Warp's probe readers do, and notes the value of every read the
// server answered (each one is tracked: the next write invalidates it).
func (b *rueidisBench) read(ctx context.Context, r *rueidisReader, probe string, deadline time.Time, spin bool, newest *atomic.Int64, fail func(error)) {
	for i := int64(0); i < maxProbeReads && ctx.Err() == nil; i++ {
		if i&63 == 0 && time.Now().After(deadline) {
			return
		}
		res := r.client.DoCache(ctx, r.client.B().Get().Key(probe).Cache(), time.Minute)
		r.reads++
		v, err := res.AsBytes()
		switch {
		case err != nil:
			if !rueidis.IsRedisNil(err) {
				fail(err)
			}
		case len(v) >= 8 && !res.IsCacheHit():
			r.fetched = append(r.fetched, int64(binary.BigEndian.Uint64(v)))
		}
		pause(spin)
	}
}

// load writes zipf or uniform keys at perSec until deadline.
func (b *rueidisBench) load(ctx context.Context, cfg config, w int, perSec float64, deadline time.Time, tl *timeline, writes *atomic.Int64, fail func(error)) {
	r := rand.New(rand.NewPCG(uint64(w), 11))
	zipf := rand.NewZipf(r, 1.1, 1, uint64(max(cfg.Keys-1, 1)))
	val := string(make([]byte, cfg.ValueSize))
	pace := newPacer(perSec)
	bg := context.Background() // a write in flight completes: nothing lands after the clean-up
	rec := newSecRec(tl, nil)
	defer rec.done()
	for ctx.Err() == nil && pace.wait(deadline) {
		k := uint64(r.IntN(cfg.Keys))
		if cfg.Dist == "zipf" {
			k = zipf.Uint64()
		}
		t0 := time.Now()
		err := b.writer.Do(bg, b.writer.B().Set().Key(fmt.Sprintf("%sk:%09d", b.prefix, k)).Value(val).Build()).Error()
		end := time.Now()
		if err != nil {
			fail(err)
			continue
		}
		rec.op(end, int64(end.Sub(t0)))
		writes.Add(1)
	}
}

// settle waits, at most bound, until every reader has received the
// invalidation of its last tracked read, unless that read already
// returned the last write.
func (b *rueidisBench) settle(last int64, bound time.Duration) {
	deadline := time.Now().Add(bound)
	for _, r := range b.readers {
		for time.Now().Before(deadline) {
			r.mu.Lock()
			done := r.flushed || len(r.invs) >= len(r.fetched) || len(r.fetched) > 0 && r.fetched[len(r.fetched)-1] >= last
			r.mu.Unlock()
			if done {
				break
			}
			time.Sleep(time.Millisecond) // bounded by deadline; polling the callback's log
		}
	}
}

// lags pairs each reader's k-th tracked read (value v) with its k-th
// invalidation, which the write v+1 caused: its lag is the invalidation's
// arrival minus that write's return (0 if it came first).
func (b *rueidisBench) lags(rep *rueidisReport, ret []atomic.Int64) (*hdrhistogram.Histogram, []lagSample) {
	h := newHist()
	var samples []lagSample
	var early int64
	for _, r := range b.readers {
		r.mu.Lock()
		invs, flushed := append([]int64(nil), r.invs...), r.flushed
		r.mu.Unlock()
		if flushed {
			rep.Flushes++
		}
		for k, v := range r.fetched {
			s := v + 1
			if s <= 0 || s >= int64(len(ret)) || ret[s].Load() == 0 {
				continue // the write never happened (or failed)
			}
			if k >= len(invs) {
				continue // the invalidation did not come before the end
			}
			rt, at := ret[s].Load(), invs[k]
			if at <= rt {
				early++
			}
			lag := max(at-rt, 0)
			record(h, lag)
			samples = append(samples, lagSample{at: at, lag: lag})
		}
	}
	rep.BeforeReturn = countIf(early, h.TotalCount() > 0)
	// A write that found a reader not tracking the key (it had not read it
	// again since the last invalidation) sent it nothing.
	rep.Untracked = max(rep.ProbeWrites*int64(len(b.readers))-h.TotalCount(), 0)
	return h, samples
}
