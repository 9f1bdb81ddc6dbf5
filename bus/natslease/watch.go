package natslease

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// readTimeout bounds the resolver's read of a lease entry.
const readTimeout = 5 * time.Second

// startWatch starts the node's watcher of the whole bucket and waits until
// it has replayed the bucket's current entries.
func (l *Leases) startWatch(ctx context.Context) error {
	// The watches outlive ctx (New's): they are ended by Close. Each has a
	// context of its own, which must end, or the client keeps a goroutine
	// waiting for it.
	wctx := context.WithoutCancel(ctx)
	w, wend, err := l.watch(wctx)
	if err != nil {
		close(l.stopped)
		return opError(ctx, "watch", l.cfg.Bucket, err)
	}
	ready := make(chan error, 1)
	go l.run(wctx, w, wend, ready)
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = fmt.Errorf("natslease: watch %s: replay: %w", l.cfg.Bucket, ctx.Err())
	}
	if err != nil {
		_ = l.Close()
	}
	return err
}

// run is the watcher goroutine: it applies the bucket's entries, and the
// outcomes of its resolver's reads, to the table and reports the ends,
// until Close. It owns the resolver's goroutines and the watch.
//
// The client ends a watch it cannot carry on (its connection closed, its
// consumer not recreated, the bucket's stream gone). The watcher then
// flushes, since ends from then on go unseen, and opens a new watch every
// probeEvery until one opens; the new watch's replay rebuilds the leases
// (tombstones are kept), and at its end the watcher flushes again: ends
// written while no watch ran are not replayed. After a gap between its
// probes (see startProbes) it flushes and replays the same way, so that
// the leases whose ends it missed leave the table. Each watch has a
// context of its own under wctx (wend ends w's), which ends it (jskv.EndWatch).
func (l *Leases) run(wctx context.Context, w jetstream.KeyWatcher, wend context.CancelFunc, ready chan<- error) {
	defer close(l.stopped)
	defer func() {
		if w != nil {
			jskv.EndWatch(wend, w)
		}
	}()
	res := newResolver(l.gate.Context(), l.readLease)
	defer res.stop()
	pf := proofs{markerTTL: l.markerTTL, publish: l.alive.Store}
	pf.reset(l.now()) // the watch was just opened
	stopProbes := l.startProbes()
	defer stopProbes()
	updates := w.Updates()
	var retry <-chan time.Time // set while no watch runs
	replaying, started := true, false
	// rewatch flushes, since lease ends may have been missed (why says
	// how), records the flush (the next for a silence is MarkerTTL/2
	// later), and drops the watch, if one runs, for a new one after delay.
	rewatch := func(delay time.Duration, why string, attrs ...any) {
		l.flushAll(why, attrs...)
		pf.flushed(l.now())
		if w != nil {
			jskv.EndWatch(wend, w)
			w, updates, retry = nil, nil, time.After(delay)
		}
	}
	for {
		select {
		case <-l.gate.Done():
			return
		case q := <-l.silence:
			// No probe has come back for a while: flush now, and again
			// for every MarkerTTL/2 the silence goes on, rather than only
			// when one comes back, if ever (a cut the client does not
			// notice, a probe's write refused, a replay or a new watch
			// that stalls). The proof that ends the silence still flushes
			// and replays for the gap. The first replay comes before
			// anything is cached.
			if !started || !pf.silent(q) {
				continue
			}
			l.flushAll("natslease: no probe has come back for half the markers' life or more (the connection cut, the consumer lost, the process paused, or the probe's write refused); lease ends may be missed",
				"silence", q.gap, "marker_ttl", l.markerTTL)
		case r := <-res.out:
			l.resolved(r, res)
		case <-retry:
			nw, nend, err := l.watch(wctx)
			if err != nil {
				retry = time.After(l.probeEvery())
				continue
			}
			l.cfg.Logger.Info("natslease: watching again; replaying the bucket", "bucket", l.cfg.Bucket)
			w, wend, updates, retry, replaying = nw, nend, nw.Updates(), nil, true
			l.table.forgetLeases()
		case e, ok := <-updates:
			switch {
			case !ok && !started:
				l.cfg.Logger.Error("natslease: watch stopped during its replay", "bucket", l.cfg.Bucket)
				ready <- fmt.Errorf("natslease: watch %s: stopped during replay", l.cfg.Bucket)
				return
			case !ok:
				rewatch(l.probeEvery(), "natslease: watch stopped (connection closed, consumer or bucket lost); lease ends are not seen until a new watch runs")
			case e == nil: // end of a replay, sent once per watch
				replaying = false
				// The probes written during the replay come back after
				// it, late by its length: the gaps count from here, since
				// what was missed before is flushed below.
				pf.reset(l.now())
				for _, id := range l.table.orphans() {
					if end, first, _ := l.table.end(id); first {
						l.report(end)
					}
				}
				if !started {
					started = true
					ready <- nil
					continue
				}
				l.flushAll("natslease: watching again; lease ends written while no watch ran are not replayed")
			case strings.HasPrefix(e.Key(), l.probeKey):
				if replaying {
					continue // judged from the replay's end
				}
				pr, known, old := l.probes.lookup(e.Value())
				if gap, late := pf.take(pr, known, old, l.now); late {
					// The leases whose ends were missed would stay in the
					// table: replay the bucket into a new one.
					rewatch(0, "natslease: the watcher was cut off, paused, held up or without a consumer for half the markers' life or more; lease ends may have been missed",
						"gap", gap, "marker_ttl", l.markerTTL)
				}
			default:
				if replaying && l.cfg.replayHook != nil {
					l.cfg.replayHook()
				}
				l.apply(e, replaying, res)
			}
		}
	}
}

// apply updates the table with one entry and revokes what it ended.
//
// Entries can be missed: the bucket keeps one entry per key, so a newer
// one (a KeepAlive, a marker) replaces an older one that the watcher had
// not received yet. So no single entry is relied on: any entry of an
// attachment, put or marker, says that its key is attached to its lease,
// and any attachment entry of a lease not yet seen is held (pending)
// until the lease's entry or its end shows up; after the replay, the
// resolver also reads the lease's entry, off this goroutine, and the
// lease is ended if the entry is gone (its end was seen so long ago that
// its tombstone is forgotten, or it never existed). The end of a lease
// leaves a tombstone, so that an attachment written after the end (an
// Attach that lost the race) is revoked at once, and so is the key of a
// marker of an attachment that expires after its lease: a watcher that
// fell behind by the attachment's TTL received only the marker, maybe
// after the lease's end, which then lacked the key. Every end seen
// after the replay is reported once, with the keys known (maybe none). At
// the end of the replay, pending attachments whose lease entry was not in
// the bucket are revoked as orphans. Past MaxLeases, an attachment of a
// lease the table does not track is revoked at once (see table.sighting).
func (l *Leases) apply(e jetstream.KeyValueEntry, replaying bool, res *resolver) {
	id, key, isAttach, ok := parseKV(e.Key())
	if !ok {
		l.cfg.Logger.Warn("natslease: ignoring a foreign entry", "bucket", l.cfg.Bucket, "key", e.Key())
		return
	}
	marker := e.Operation() == jetstream.KeyValueDelete || e.Operation() == jetstream.KeyValuePurge
	switch {
	case isAttach:
		v := l.table.sighting(id, key)
		if v.over {
			l.overflowed(id)
		}
		if v.crowded {
			l.crowded()
		}
		switch {
		case v.refused:
			// Not tracked, past MaxLeases: revoked now, and the lease's
			// end flushes (see table.sighting).
			l.report(ending{id: id, keys: []string{key}})
		case v.ended:
			// An attachment written after its lease ended (an Attach
			// that lost the race), or the marker of one: a watcher that
			// fell behind by the attachment's TTL gets only the marker,
			// perhaps after the lease's end, which then did not name the
			// key. Dropping it again costs a miss, at most once an
			// attachment.
			l.report(ending{id: id, keys: []string{key}})
		case !v.ended && !v.live && !replaying:
			// After the replay the watcher sees a lease's entry before
			// any attachment written after it, unless a newer entry
			// replaced it; else this lease ended long enough ago that its
			// tombstone is gone (an Attach paused between its reads and
			// its write; for a marker, an attachment that outlived the
			// tombstone), or never existed. Read, so that it is not
			// tracked, pending, for ever.
			l.resolve(res, id, key)
		}
	case marker:
		// After the replay, every end is reported, even of a lease whose
		// entry was replaced by its marker before this watcher got it;
		// during it, the ends that flush.
		if end, first, known := l.table.end(id); first && (known || !replaying || end.all) {
			l.report(end)
		}
	default:
		ttl, err := decodeTTL(e.Value())
		if err != nil {
			l.cfg.Logger.Warn("natslease: lease entry without a TTL", "bucket", l.cfg.Bucket, "lease", id, "err", err)
		}
		if l.table.grant(id, ttl) {
			l.crowded()
		}
	}
}

// resolve has the resolver read the entry of lease id, which the table
// does not know, to end it if it is gone. If maxResolving leases are being
// read already, key is revoked at once instead (dropping a cached copy
// early is safe), and stays recorded under id.
func (l *Leases) resolve(res *resolver, id, key string) {
	if res.add(id) {
		return
	}
	if !res.missed {
		l.cfg.Logger.Warn("natslease: too many attachments of unknown leases to read; revoking their keys at once",
			"bucket", l.cfg.Bucket, "reading", maxResolving)
		res.missed = true
	}
	l.report(ending{id: id, keys: []string{key}})
}

// resolved applies the outcome of a read of the resolver: a lease that
// is gone and still pending ends. Once the resolver is idle, the leases it
// refused, still pending, are queued again.
func (l *Leases) resolved(r resolution, res *resolver) {
	res.done(r.id)
	switch {
	case r.gone:
		if end, ok := l.table.endPending(r.id); ok {
			l.report(end)
		}
	case r.err != nil && l.gate.Closed(): // ended by Close: nothing to report
	case r.err != nil:
		l.cfg.Logger.Warn("natslease: attachment of an unknown lease, whose entry could not be read", "bucket", l.cfg.Bucket, "lease", r.id, "err", r.err)
	}
	if res.missed && res.idle() {
		res.missed = false
		for _, id := range l.table.orphans() {
			if !res.add(id) {
				res.missed = true
				return
			}
		}
	}
}

// overflowed logs that lease id has more keys attached than
// MaxAttachments.
func (l *Leases) overflowed(id string) {
	if l.cfg.Flush != nil {
		l.cfg.Logger.Warn("natslease: lease past MaxAttachments; its keys are no longer recorded, and its end flushes",
			"bucket", l.cfg.Bucket, "lease", id, "max", l.cfg.MaxAttachments)
		return
	}
	l.cfg.Logger.Warn("natslease: lease past MaxAttachments, and no Flush configured; its keys are recorded without bound",
		"bucket", l.cfg.Bucket, "lease", id, "max", l.cfg.MaxAttachments)
}

// crowded logs, once, that the watcher has seen more than MaxLeases
// leases.
func (l *Leases) crowded() {
	if l.cfg.Flush != nil {
		l.cfg.Logger.Error("natslease: more than MaxLeases leases; leases past the bound are not tracked: "+
			"a key attached to one is revoked at once, and that lease's end flushes the cache (for the life of this Leases)",
			"bucket", l.cfg.Bucket, "max", l.cfg.MaxLeases)
		return
	}
	l.cfg.Logger.Warn("natslease: more than MaxLeases leases, and no Flush configured; leases are tracked without bound",
		"bucket", l.cfg.Bucket, "max", l.cfg.MaxLeases)
}

// report reports the end e: onRevoke with its keys, or Flush if the keys
// were dropped. A panic is recovered and logged.
func (l *Leases) report(e ending) {
	defer func() {
		if r := recover(); r != nil {
			l.cfg.Logger.Error("natslease: revoke callback panicked", "lease", e.id, "keys", len(e.keys), "flush", e.all, "panic", fmt.Sprint(r))
		}
	}()
	if e.all {
		l.cfg.Flush(e.id)
		return
	}
	l.onRevoke(e.id, e.keys)
}

// The server removes a lease's end marker MarkerTTL after writing it, so
// a watcher that does not get it within that time misses the end: one
// whose connection was cut (a partition the client does not notice until
// its pings fail, minutes later, or a reconnection), whose process was
// paused, whose goroutine was held up (the client then holds back the
// consumer's flow), or whose consumer the server lost while the
// connection stayed up (a server restart, a leader change: the client
// recreates it only 10 to 20 s later). The watcher
// cannot tell from the entries, which do not show what was removed, so it
// proves itself alive through the bucket: every MarkerTTL/8 it writes a
// probe entry of its own (under probeKey, in one of probeSlots in turn: a
// number and a random nonce, which it records first with the time of the
// write) and takes the proof when its watch delivers that entry back. Entries reach a watch in the stream's
// order, so a marker written before the probe's time reached the watcher
// before the probe did. Each proof is measured from the time of the probe
// taken before to the moment the watcher takes this one: a gap of
// MarkerTTL/2 or more flushes, since markers written meanwhile may be
// gone. A marker written while the gaps stay shorter reaches the watcher
// within MarkerTTL/2 of being written, half its life: the other half
// leaves room for the silence check (below), up to two periods late, and
// for the drift between this host's clock rate and the server's. A silence of
// MarkerTTL/2 and a period flushes too, without waiting for a probe to
// come back (see run), and so does every MarkerTTL/2 more of it.
const (
	probesPerMarkerTTL = 8
	minProbeEvery      = 100 * time.Millisecond
	maxProbeEvery      = 10 * time.Second
	// probeSlots is how many probe entries a watcher keeps in the bucket,
	// written in turn: the bucket keeps one entry per key, so a probe
	// lasts probeSlots periods before the next in its slot replaces it,
	// and a watch that lags the bucket by less than that still gets
	// every probe. With one slot, a lag of a single period would hide
	// them all.
	probeSlots = probesPerMarkerTTL
	// probeLogLen is how many of its latest probes the watcher can take
	// back: 16 probe periods. An older one (a watcher held up that long)
	// proves nothing new; it is only checked for the gap.
	probeLogLen = 2 * probeSlots
	// probeLen is a probe entry's value: its number and nonce, 8 bytes
	// each, big-endian.
	probeLen = 16
)

// probeEvery is how often the watcher proves itself alive.
func (l *Leases) probeEvery() time.Duration {
	return min(max(l.markerTTL/probesPerMarkerTTL, minProbeEvery), maxProbeEvery)
}

// probe is one proof the watcher wrote: its number, its nonce, and the
// time it was taken at, before the write.
type probe struct {
	n, nonce uint64
	sent     time.Time
}

// silence is the probe goroutine's report that no proof has been taken
// since the one of time since, gap ago.
type silence struct {
	since time.Time
	gap   time.Duration
}

// proofs is the watcher's account of the probes it took back.
type proofs struct {
	markerTTL time.Duration
	publish   func(*time.Time) // shows alive to the probe goroutine
	// alive is the time of the latest proof taken, or of the end of a
	// replay: every lease end written before it has reached the watcher,
	// or a flush after it dropped what it would revoke (the first replay
	// precedes anything the node cached).
	alive time.Time
	// silentFor is the silence since alive that the watcher last flushed
	// for (0: none).
	silentFor time.Duration
	taken     uint64 // the number of the latest probe taken back
}

// reset counts the gaps from now: the watcher has everything written
// before, or flushes for it.
func (p *proofs) reset(now time.Time) {
	p.alive, p.silentFor = now, 0
	p.publish(&now)
}

// flushed records that the watcher flushed at now: the next flush for a
// silence is due MarkerTTL/2 later.
func (p *proofs) flushed(now time.Time) {
	p.silentFor = max(now.Sub(p.alive), 1)
}

// take judges probe pr, which lookup found known or old, now that the
// watch brought it back: late reports a gap (returned) of MarkerTTL/2 or
// more since the last proof, which calls for a flush (the caller's, which
// it records with flushed). now is read only for a probe newer than the
// last proof.
//
// The gap runs from the last proof's time, not from when the watcher took
// it: a marker written just after that probe was written reaches the
// watcher only with the next probe, so a watcher slow to take them, or a
// delivery late, counts in full.
func (p *proofs) take(pr probe, known, old bool, now func() time.Time) (gap time.Duration, late bool) {
	switch {
	case !known && !old, known && pr.n <= p.taken:
		return 0, false // not a probe of this watcher's, or taken already
	case known && !pr.sent.After(p.alive):
		p.taken = pr.n // no newer than the last proof
		return 0, false
	}
	gap = now().Sub(p.alive)
	if known {
		p.taken = pr.n
		p.reset(pr.sent)
	}
	return gap, gap >= p.markerTTL/2
}

// silent reports whether the probe goroutine's report q of a silence
// calls for a flush: a silence since the last proof (not an earlier one),
// the first report of it or MarkerTTL/2 more than the one flushed for;
// if so, it records the flush.
func (p *proofs) silent(q silence) bool {
	if !q.since.Equal(p.alive) || p.silentFor > 0 && q.gap < p.silentFor+p.markerTTL/2 {
		return false
	}
	p.silentFor = q.gap
	return true
}

// probeLog is the watcher's latest probes, written by the probe goroutine
// before each write and read by the watcher when the write comes back.
type probeLog struct {
	mu     sync.Mutex
	probes [probeLogLen]probe
	last   uint64 // the latest number recorded
}

func (p *probeLog) record(pr probe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.probes[pr.n%probeLogLen] = pr
	p.last = pr.n
}

// lookup returns the probe that value, a probe entry's value, names:
// known is false if it is not one this watcher recorded (malformed, a
// number not recorded yet, a wrong nonce); old is true if its number is
// one the log no longer holds.
func (p *probeLog) lookup(value []byte) (pr probe, known, old bool) {
	if len(value) != probeLen {
		return probe{}, false, false
	}
	n, nonce := binary.BigEndian.Uint64(value), binary.BigEndian.Uint64(value[8:])
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case n == 0 || n > p.last:
		return probe{}, false, false
	case p.last-n >= probeLogLen:
		return probe{}, false, true
	}
	pr = p.probes[n%probeLogLen]
	return pr, pr.n == n && pr.nonce == nonce, false
}

// startProbes starts the goroutine that writes a probe entry every
// probeEvery, recorded in l.probes first. The returned func stops it and
// waits.
func (l *Leases) startProbes() (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	every := l.probeEvery()
	// A slot is rewritten every probeSlots periods; a Leases closed or
	// gone leaves its entries for that long, then the server's delete
	// markers for a MarkerTTL more.
	ttl, _ := jskv.RoundTTL(probeSlots*every+time.Second, ErrInvalid)
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		var nonce [8]byte
		failing := false // logged once per run of failed writes
		for n := uint64(1); ; n++ {
			select {
			case <-done:
				return
			case <-t.C:
			}
			_, _ = rand.Read(nonce[:])
			pr := probe{n: n, nonce: binary.BigEndian.Uint64(nonce[:]), sent: l.now()}
			l.probes.record(pr)
			if a := l.alive.Load(); a != nil {
				// A probe period past the gap that flushes: the one due
				// last did not come back in time either.
				if gap := pr.sent.Sub(*a); gap >= l.markerTTL/2+every {
					select { // only this goroutine sends: never blocks
					case l.silence <- silence{since: *a, gap: gap}:
					default:
					}
				}
			}
			value := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, pr.n), pr.nonce)
			subject := l.subject + l.probeKey + strconv.FormatUint(n%probeSlots, 10)
			// A write that takes longer than a period is given up (it
			// may still land and come back), so that the next probe, and
			// its check for a silence, is late by a period at most.
			ctx, cancel := context.WithTimeout(l.gate.Context(), every)
			_, err := l.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: value}, jetstream.WithMsgTTL(ttl))
			cancel()
			switch {
			case err != nil && !failing && l.gate.Context().Err() == nil:
				failing = true
				l.cfg.Logger.Warn("natslease: a probe's write failed; until one comes back, the watcher flushes for every half of the markers' life",
					"bucket", l.cfg.Bucket, "err", err)
			case err == nil && failing:
				failing = false
				l.cfg.Logger.Info("natslease: probes are written again", "bucket", l.cfg.Bucket)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// flushAll calls Flush with no lease id, since lease ends may have been
// missed (why says how), and logs it; without a Flush it logs an error.
func (l *Leases) flushAll(why string, attrs ...any) {
	attrs = append([]any{"bucket", l.cfg.Bucket}, attrs...)
	if l.cfg.Flush == nil {
		l.cfg.Logger.Error(why+"; no Flush is configured: keys of those leases may stay cached", attrs...)
		return
	}
	l.cfg.Logger.Warn(why+"; flushing", attrs...)
	l.report(ending{all: true})
}

// watch opens a watch of the bucket's leases and attachments, and of this
// watcher's own probe entry, on a context of its own under ctx, which end
// cancels.
func (l *Leases) watch(ctx context.Context) (jetstream.KeyWatcher, context.CancelFunc, error) {
	return jskv.WatchFiltered(ctx, l.kv, []string{leasePrefix + ">", attachPrefix + ">", l.probeKey + ">"})
}
