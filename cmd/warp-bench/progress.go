package main

import (
	"fmt"
	"io"
	"time"
)

// progress prints a line to stderr once a second on runs longer than
// about 2 s; its ticker also finalizes the timeline's seconds.
type progress struct {
	w      io.Writer
	on     bool
	phase  int
	phases int
	dur    time.Duration
}

func newProgress(w io.Writer, cfg config) *progress {
	n := cfg.phases()
	return &progress{w: w, on: time.Duration(n)*cfg.Duration > 2*time.Second, phases: n, dur: cfg.Duration}
}

// note prints a one-off line (a phase that has no ticker).
func (p *progress) note(format string, args ...any) {
	p.phase++
	if p.on {
		fmt.Fprintf(p.w, "warp-bench: [%d/%d] "+format+"\n", append([]any{p.phase, p.phases}, args...)...)
	}
}

// tick starts the once-a-second ticker of a cluster phase; the returned
// func stops it and waits for it.
func (p *progress) tick(name string, ph *phase) (stop func()) {
	p.phase++
	return every(time.Second, func() {
		pts := ph.tl.finalize(ph.tl.sec(time.Now()) - 1) // a second every worker has left
		observePoints(pts)
		if !p.on {
			return
		}
		el := time.Since(ph.start)
		var w99 float64
		if len(pts) > 0 {
			w99 = pts[len(pts)-1].WriteP99us
		}
		fmt.Fprintf(p.w, "warp-bench: [%d/%d %s] %v/%v  %d ops (%.0f/s)  last second's write p99 %.1fµs  errors %d\n",
			p.phase, p.phases, name, el.Round(time.Second), p.dur, ph.ops.Load(),
			float64(ph.ops.Load())/el.Seconds(), w99, ph.errs.Load())
	})
}

// tickOps starts the ticker of a single-node target.
func (p *progress) tickOps(name string, ops func() int64) (stop func()) {
	p.phase++
	start := time.Now()
	return every(time.Second, func() {
		if p.on {
			el := time.Since(start)
			fmt.Fprintf(p.w, "warp-bench: [%d/%d %s] %v/%v  %d ops (%.0f/s)\n",
				p.phase, p.phases, name, el.Round(time.Second), p.dur, ops(), float64(ops())/el.Seconds())
		}
	})
}

// every runs fn every d until the returned stop is called; stop waits for
// the goroutine to end.
func every(d time.Duration, fn func()) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(d)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
				fn()
			}
		}
	}()
	return func() { close(quit); <-done }
}
