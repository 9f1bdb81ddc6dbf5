package natslease

import (
	"encoding/binary"
	"testing"
	"time"
)

// A probe entry counts only if it carries the number and nonce the
// watcher recorded: anything else another writer of the bucket puts under
// the watcher's probe key (a value of another size, a number not written
// yet, a nonce guessed wrong) proves nothing, and a probe older than the
// log is only checked for the gap.
func TestProbeLogTakesOnlyItsOwnProbes(t *testing.T) {
	var log probeLog
	t0 := time.Unix(1e9, 0)
	for n := uint64(1); n <= 20; n++ {
		log.record(probe{n: n, nonce: n * 7919, sent: t0.Add(time.Duration(n) * time.Second)})
	}
	value := func(n, nonce uint64) []byte {
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, n), nonce)
	}
	for _, c := range []struct {
		name        string
		value       []byte
		known, old  bool
		wantSentSec int
	}{
		{"the latest", value(20, 20*7919), true, false, 20},
		{"the oldest still logged", value(5, 5*7919), true, false, 5},
		{"a wrong nonce", value(20, 1), false, false, 0},
		{"a number not written yet", value(21, 21*7919), false, false, 0},
		{"number 0", value(0, 0), false, false, 0},
		{"older than the log", value(4, 4*7919), false, true, 0},
		{"empty", nil, false, false, 0},
		{"short", value(20, 20*7919)[:15], false, false, 0},
		{"long", append(value(20, 20*7919), 0), false, false, 0},
		{"far too long", make([]byte, 1<<20), false, false, 0},
	} {
		pr, known, old := log.lookup(c.value)
		if known != c.known || old != c.old {
			t.Errorf("%s: known %v, old %v; want %v, %v", c.name, known, old, c.known, c.old)
		}
		if known && pr.sent != t0.Add(time.Duration(c.wantSentSec)*time.Second) {
			t.Errorf("%s: sent %v; want %d s after t0", c.name, pr.sent, c.wantSentSec)
		}
	}
}

// The gaps between proofs run from each probe's own time, not from when
// the watcher took it back: a marker written just after a probe reaches
// the watcher only with the next one. A probe taken late but in time
// still leaves the next gap measured from when it was written.
func TestProofsMeasureFromTheProbesTime(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var published time.Time
	pf := proofs{markerTTL: time.Second, publish: func(t *time.Time) { published = *t }}
	pf.reset(at(0))
	clock := func(ms int) func() time.Time { return func() time.Time { return at(ms) } }
	step := func(name string, pr probe, known, old bool, nowMS int, wantGapMS int, wantLate bool) {
		t.Helper()
		gap, late := pf.take(pr, known, old, clock(nowMS))
		if gap != time.Duration(wantGapMS)*time.Millisecond || late != wantLate {
			t.Fatalf("%s: gap %v, late %v; want %d ms, %v", name, gap, late, wantGapMS, wantLate)
		}
	}
	step("probe 1, written at 200 ms, taken at 400 ms", probe{n: 1, sent: at(200)}, true, false, 400, 400, false)
	if !published.Equal(at(200)) {
		t.Fatalf("alive shown to the probes: %v; want the probe's time, 200 ms", published.Sub(t0))
	}
	// 550 ms since probe 1 was written, though 350 since it was taken.
	step("probe 2, written at 500 ms, taken at 750 ms", probe{n: 2, sent: at(500)}, true, false, 750, 550, true)
	step("probe 2 again", probe{n: 2, sent: at(500)}, true, false, 900, 0, false)
	step("probe 3, no newer than probe 2", probe{n: 3, sent: at(500)}, true, false, 2000, 0, false)
	step("an old probe, 800 ms after probe 2", probe{}, false, true, 1300, 800, true)
	step("a probe not this watcher's", probe{}, false, false, 5000, 0, false)
	if !pf.alive.Equal(at(500)) {
		t.Fatalf("alive %v after an old probe; want probe 2's time, 500 ms (an old probe proves nothing)", pf.alive.Sub(t0))
	}
}

// A silence flushes at its first report, then again only once it has
// gone on for MarkerTTL/2 more; a report of a silence since an earlier
// proof than the last is stale, and a proof ends the silence.
func TestProofsFlushForEveryHalfMarkerTTLOfSilence(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	pf := proofs{markerTTL: time.Second, publish: func(*time.Time) {}}
	pf.reset(t0)
	for _, c := range []struct {
		since time.Time
		gap   time.Duration
		want  bool
	}{
		{t0.Add(-time.Second), ms(700), false}, // since an earlier proof: stale
		{t0, ms(625), true},
		{t0, ms(750), false},
		{t0, ms(1124), false},
		{t0, ms(1125), true},
		{t0, ms(1250), false},
		{t0, ms(1625), true},
	} {
		if got := pf.silent(silence{since: c.since, gap: c.gap}); got != c.want {
			t.Fatalf("silence of %v since %v: flush %v; want %v", c.gap, c.since.Sub(t0), got, c.want)
		}
	}
	pf.take(probe{n: 1, sent: t0.Add(ms(1700))}, true, false, func() time.Time { return t0.Add(ms(1800)) })
	if !pf.silent(silence{since: t0.Add(ms(1700)), gap: ms(625)}) {
		t.Fatal("a silence after a proof did not flush: the proof did not end the last one")
	}
	// A late proof flushes (the caller does, and records it, as run's
	// rewatch does); the silence after it flushes again only MarkerTTL/2
	// after that flush, not at once.
	if _, late := pf.take(probe{n: 2, sent: t0.Add(ms(2400))}, true, false, func() time.Time { return t0.Add(ms(3000)) }); !late {
		t.Fatal("a proof 1.3 s after the last was not late")
	}
	pf.flushed(t0.Add(ms(3000)))
	for _, c := range []struct {
		gap  time.Duration
		want bool
	}{{ms(625), false}, {ms(1099), false}, {ms(1100), true}} {
		if got := pf.silent(silence{since: t0.Add(ms(2400)), gap: c.gap}); got != c.want {
			t.Fatalf("silence of %v after a late proof taken 600 ms after its write: flush %v; want %v", c.gap, got, c.want)
		}
	}
}
