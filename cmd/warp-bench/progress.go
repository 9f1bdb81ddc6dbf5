package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress prints to stderr: a line when each phase (a baseline, a mode,
// a target) starts, and once a second while any step lasts longer than
// a second (preloads and clean-ups included). The cluster's ticker also
// finalizes the timeline's seconds.
type progress struct {
	mu     sync.Mutex // guards w's lines and phase
	w      io.Writer
	phase  int
	phases int
	dur    time.Duration
}

func newProgress(w io.Writer, cfg config) *progress {
	return &progress{w: w, phases: cfg.phases(), dur: cfg.Duration}
}

// printf prints one line.
func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "warp-bench: "+format+"\n", args...)
}

// note starts the next phase with a line.
func (p *progress) note(format string, args ...any) {
	p.mu.Lock()
	p.phase++
	n := p.phase
	p.mu.Unlock()
	p.printf("[%d/%d] "+format, append([]any{n, p.phases}, args...)...)
}

// watch prints line() once a second, after the first second, until the
// returned stop is called: the progress of a step that has no ticker of
// its own (a preload, a clean-up, a wait).
func (p *progress) watch(line func(el time.Duration) string) (stop func()) {
	start := time.Now()
	return every(time.Second, func() { p.printf("  %s", line(time.Since(start).Round(time.Second))) })
}

// tick starts the once-a-second ticker of a cluster phase; the returned
// func stops it and waits for it.
func (p *progress) tick(name string, ph *phase) (stop func()) {
	return every(time.Second, func() {
		pts := ph.tl.finalize(ph.tl.sec(time.Now()) - 1) // a second every worker has left
		observePoints(pts)
		el := time.Since(ph.start)
		w99 := "n/a"
		if len(pts) > 0 {
			w99 = fmtF(pts[len(pts)-1].WriteP99us, 1) + "µs"
		}
		p.printf("  %s %v/%v  %d ops (%.0f/s)  last second's write p99 %s  errors %d",
			name, el.Round(time.Second), p.dur, ph.ops.Load(), float64(ph.ops.Load())/el.Seconds(), w99, ph.errs.Load())
	})
}

// tickOps starts the ticker of a single-node target.
func (p *progress) tickOps(name string, ops func() int64) (stop func()) {
	start := time.Now()
	return every(time.Second, func() {
		el := time.Since(start)
		p.printf("  %s %v/%v  %d ops (%.0f/s)", name, el.Round(time.Second), p.dur, ops(), float64(ops())/el.Seconds())
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
