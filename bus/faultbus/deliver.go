package faultbus

import "time"

// run is the delivery goroutine: it takes arrivals in order, applies the
// faults and calls the handler, until Close.
func (t *Transport) run() {
	defer t.wg.Done()
	var held []byte // a message held back for a reorder
	for {
		a, ok := t.take()
		if !ok {
			if !t.idle(&held) {
				return
			}
			continue
		}
		f, drop := t.decide()
		if !t.waitUntil(a.at.Add(f.Delay)) {
			return
		}
		switch {
		case drop || t.rng.Float64() < f.Drop:
			t.stats.dropped.Add(1)
			continue
		case held == nil && t.rng.Float64() < f.Reorder:
			held = a.msg
			t.stats.reordered.Add(1)
			continue
		}
		t.deliver(a.msg)
		if t.rng.Float64() < f.Duplicate {
			t.stats.duplicated.Add(1)
			t.deliver(a.msg)
		}
		if held != nil {
			t.deliver(held)
			held = nil
		}
	}
}

// idle waits for an arrival; a held message is delivered if none comes
// within reorderHold. It reports false once the transport is closed.
func (t *Transport) idle(held *[]byte) bool {
	var timeout <-chan time.Time
	if *held != nil {
		timer := time.NewTimer(reorderHold)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-t.done:
		return false
	case <-t.wake:
	case <-timeout:
		t.deliver(*held)
		*held = nil
	}
	return true
}

func (t *Transport) take() (arrival, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.queue) == 0 {
		return arrival{}, false
	}
	a := t.queue[0]
	t.queue = t.queue[1:]
	return a, true
}

// decide reads the fault rates and consumes one of the DropNext budget.
func (t *Transport) decide() (Faults, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropNext > 0 {
		t.dropNext--
		return t.faults, true
	}
	return t.faults, false
}

// waitUntil waits for the wall time at; false if closed meanwhile.
func (t *Transport) waitUntil(at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-t.done:
		return false
	case <-timer.C:
		return true
	}
}

func (t *Transport) deliver(msg []byte) {
	if t.partitioned.Load() {
		t.stats.dropped.Add(1)
		return
	}
	t.stats.delivered.Add(1)
	t.h.HandleMessage(msg)
}
