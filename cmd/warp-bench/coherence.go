package main

import (
	"time"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/internal/stripes"
)

// leaseTick is how often the coherence sampler reads every node's lease.
// The bus counts no lease losses, so they are sampled: a loss shorter
// than a tick can go unseen, and the time without a lease is accurate to
// about a tick (more when the sampler itself waits for a processor).
const leaseTick = time.Millisecond

// nodeReport is one node's coherence over a phase: how long it had no
// coherence lease (so served strong and flush-policy eventual keys from
// the store), the repairs and gaps its bus counted, and how many of its
// reads L1 served.
type nodeReport struct {
	Node string `json:"node"`
	// NoLeaseMs is the time without a lease, sampled every leaseTick;
	// NoLeaseFraction is its share of the sampled time.
	NoLeaseMs       figure `json:"no_lease_ms"`
	NoLeaseFraction figure `json:"no_lease_fraction"`
	// LeaseLosses counts the samples where a valid lease had turned
	// invalid.
	LeaseLosses  count  `json:"lease_losses"`
	LeaseSamples int64  `json:"lease_samples"`
	Repairs      uint64 `json:"repairs"`
	Gaps         uint64 `json:"gaps"`
	Overflows    uint64 `json:"overflows"`
	// Reads counts every Get on the node (the probe's included); L1Hits
	// those L1 served, from the node's own Recorder. All three are nil
	// with -l1-hits=false.
	Reads      count  `json:"reads"`
	L1Hits     count  `json:"l1_hits"`
	L1HitRatio figure `json:"l1_hit_ratio"`
}

// l1Counter is the Recorder of a bench node: it counts reads served from
// L1 and reads that were not, and passes everything on to next (the
// Prometheus recorder with -metrics-addr), if any. A node gets a Recorder
// only with -l1-hits (or -metrics-addr): with one, Warp times every miss
// and write and looks its registration up (about 0.25 µs a Set here).
type l1Counter struct {
	on           bool // installed as the node's Recorder and counting
	next         api.Recorder
	hits, misses stripes.Counter
}

// options returns the node option that installs r, if it is to be.
func (r *l1Counter) options() []api.Option[[]byte] {
	if !r.on && r.next == nil {
		return nil
	}
	return []api.Option[[]byte]{api.WithRecorder[[]byte](r)}
}

var _ api.Recorder = (*l1Counter)(nil)

func (r *l1Counter) Attach(src api.Source) error {
	if r.next != nil {
		return r.next.Attach(src)
	}
	return nil
}

func (r *l1Counter) Read(hit bool) {
	switch {
	case !r.on:
	case hit:
		r.hits.Inc()
	default:
		r.misses.Inc()
	}
	if r.next != nil {
		r.next.Read(hit)
	}
}

func (r *l1Counter) Op(op string, mode api.Mode, result string, d time.Duration) {
	if r.next != nil {
		r.next.Op(op, mode, result, d)
	}
}

func (r *l1Counter) ApplyLag(d time.Duration) {
	if r.next != nil {
		r.next.ApplyLag(d)
	}
}

// snapshot returns the reads and the L1 hits so far; ok is false when
// they are not counted.
func (r *l1Counter) snapshot() (reads, hits int64, ok bool) {
	if !r.on {
		return 0, 0, false
	}
	h, m := r.hits.Sum(), r.misses.Sum()
	return int64(h + m), int64(h), true
}

// sampler watches the local nodes during a phase: their leases every
// leaseTick, their bus counters, and per second of the phase the
// node-milliseconds without a lease, the repairs and the gaps.
type sampler struct {
	nodes []*api.Warp[[]byte]
	tl    *timeline

	// Owned by the sampling goroutine until stop returns.
	valid   []bool
	noLease []time.Duration
	losses  []int64
	samples int64
	start   time.Time
	last    time.Time
	perSec  map[int]*secExtra
	prev    []bus.Stats
	base    []bus.Stats
	l1      [][2]int64 // reads, hits at the start

	stop func()
}

// startSampler starts sampling nodes; counters maps each node to its
// L1 counter.
func startSampler(nodes []*api.Warp[[]byte], counters []*l1Counter, tl *timeline) *sampler {
	s := &sampler{nodes: nodes, tl: tl, valid: make([]bool, len(nodes)), noLease: make([]time.Duration, len(nodes)),
		losses: make([]int64, len(nodes)), perSec: map[int]*secExtra{}, l1: make([][2]int64, len(nodes))}
	s.start = time.Now()
	s.last = s.start
	for i, w := range nodes {
		s.valid[i] = w.Bus().LeaseValid()
		st := w.Bus().Stats()
		s.prev, s.base = append(s.prev, st), append(s.base, st)
		s.l1[i][0], s.l1[i][1], _ = counters[i].snapshot()
	}
	s.stop = every(leaseTick, s.sample)
	return s
}

// sample reads every node once.
func (s *sampler) sample() {
	now := time.Now()
	dt := now.Sub(s.last)
	s.last = now
	s.samples++
	ex := s.extra(now)
	for i, w := range s.nodes {
		if !s.valid[i] {
			s.noLease[i] += dt
			ex.noLeaseMs += float64(dt) / 1e6
		}
		v := w.Bus().LeaseValid()
		if s.valid[i] && !v {
			s.losses[i]++
		}
		s.valid[i] = v
		st := w.Bus().Stats()
		ex.repairs += st.Repairs - s.prev[i].Repairs
		ex.gaps += st.Gaps - s.prev[i].Gaps
		s.prev[i] = st
	}
}

func (s *sampler) extra(now time.Time) *secExtra {
	sec := s.tl.sec(now)
	ex := s.perSec[sec]
	if ex == nil {
		ex = &secExtra{}
		s.perSec[sec] = ex
	}
	return ex
}

// finish stops sampling and returns every node's report and the
// per-second figures.
func (s *sampler) finish(ids []string, counters []*l1Counter) ([]nodeReport, map[int]*secExtra) {
	s.stop()
	s.sample() // the last stretch, up to now
	total := s.last.Sub(s.start)
	out := make([]nodeReport, len(s.nodes))
	for i, w := range s.nodes {
		st := w.Bus().Stats()
		reads, hits, counted := counters[i].snapshot()
		reads, hits = reads-s.l1[i][0], hits-s.l1[i][1]
		r := nodeReport{
			Node: ids[i], LeaseSamples: s.samples,
			Repairs: st.Repairs - s.base[i].Repairs, Gaps: st.Gaps - s.base[i].Gaps,
			Overflows: st.Overflows - s.base[i].Overflows,
		}
		if counted {
			r.Reads, r.L1Hits, r.L1HitRatio = someCount(reads), someCount(hits), fractionOf(hits, reads)
		}
		if s.samples > 0 && total > 0 {
			r.NoLeaseMs = some(float64(s.noLease[i]) / 1e6)
			r.NoLeaseFraction = some(float64(s.noLease[i]) / float64(total))
			r.LeaseLosses = someCount(s.losses[i])
		}
		out[i] = r
	}
	return out, s.perSec
}
