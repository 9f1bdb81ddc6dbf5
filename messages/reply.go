package messages

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warpcache/warp/merge"
)

// Result is an actor's answer to a request.
type Result struct {
	// Version is the version the shard holds for the key after the request.
	Version merge.Version
	// Applied reports whether the request changed the shard.
	Applied bool
	// Gen is the shard generation that granted a key lock.
	Gen uint64
	Err error
}

// Reply is a one-shot reply slot. Get one from a [ReplyPool] (or
// [NewReply]).
//
// The answer travels through the slot's own fields, published by one
// atomic swap; the channel is used only when the waiter had to park. A
// channel for every answer would take its lock twice per request, on the
// answering and on the waiting side (BenchmarkReply).
type Reply struct {
	state atomic.Uint32 // empty, answered or parked
	res   Result
	wake  chan struct{} // signalled once when the waiter parked first
}

// Reply states.
const (
	replyEmpty uint32 = iota
	replyAnswered
	replyParked
)

// NewReply returns a new reply slot.
func NewReply() *Reply { return &Reply{wake: make(chan struct{}, 1)} }

// Send delivers the answer. It never blocks: each slot is answered once.
// A nil *Reply (a request nobody waits for) ignores the answer.
func (r *Reply) Send(res Result) {
	if r == nil {
		return
	}
	r.res = res
	if r.state.Swap(replyAnswered) == replyParked {
		r.wake <- struct{}{}
	}
}

// Wait blocks until the answer arrives.
//
// Shards run on their callers' goroutines, so a request that finds its
// shard busy with another caller's message is answered by that caller a
// few microseconds later. With more than one processor, Wait first polls
// for that answer without yielding, for up to waitBusyTime: the caller
// running the shard is on another processor, and a goroutine that yields
// when more goroutines are runnable than there are processors waits for
// one of them to yield in turn, tens of microseconds when they are busy
// (docs/cache.md, "Waiting for an answer"). Then it polls yielding the
// processor between polls, for up to waitSpinTime, and then parks:
// parking would hand the answer to the scheduler, and a woken goroutine
// can sit in the other processor's run queue for tens of microseconds.
func (r *Reply) Wait() Result {
	if r.state.Load() == replyAnswered { // the shard ran on this goroutine: the common case
		return r.res
	}
	if multicore && r.poll(waitBusySpins, 63, waitBusyTime, false) ||
		r.poll(waitSpins, 15, waitSpinTime, true) {
		return r.res
	}
	if r.state.CompareAndSwap(replyEmpty, replyParked) {
		<-r.wake
	}
	return r.res
}

// WaitOr waits until the answer arrives, as Wait does but without
// polling, or until done is closed, whichever comes first; ok is false if
// done came first. The slot is then abandoned: the answer may still
// arrive (Send never blocks), and the slot must not be reset or put back
// in a pool.
func (r *Reply) WaitOr(done <-chan struct{}) (res Result, ok bool) {
	if r.state.Load() == replyAnswered {
		return r.res, true
	}
	if r.state.CompareAndSwap(replyEmpty, replyParked) {
		select {
		case <-r.wake:
		case <-done:
			return Result{}, false
		}
	}
	return r.res, true
}

// Answered reports whether the answer has arrived, without waiting: Wait
// then returns it at once.
func (r *Reply) Answered() bool { return r.state.Load() == replyAnswered }

// poll polls for the answer at most spins times and for at most limit
// (reading the clock every mask+1 polls), yielding the processor between
// polls if yield. It reports whether the answer came.
func (r *Reply) poll(spins, mask int, limit time.Duration, yield bool) bool {
	var start time.Time
	for i := range spins {
		if r.state.Load() == replyAnswered {
			return true
		}
		if i&mask == mask {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > limit {
				return false
			}
		}
		if yield {
			runtime.Gosched()
		}
	}
	return false
}

// Reset empties an answered slot for reuse. A slot whose answer has not
// arrived must not be reset: its answer may still come.
func (r *Reply) Reset() {
	r.res = Result{}
	r.state.Store(replyEmpty)
}

// waitBusySpins and waitBusyTime bound [Reply.Wait]'s polling without
// yielding, waitSpins and waitSpinTime its polling with yields: whichever
// ends first (the counts also end them in a testing/synctest bubble, where
// the clock stands still while the caller polls).
const (
	waitBusySpins = 1 << 14
	waitBusyTime  = 5 * time.Microsecond
	waitSpins     = 1024
	waitSpinTime  = 50 * time.Microsecond
)

// multicore reports whether the program started with more than one
// processor: on one, the goroutine that would answer cannot run while the
// waiter polls without yielding, so Wait does not.
var multicore = runtime.GOMAXPROCS(0) > 1

// ReplyPool recycles reply slots. Each router owns one, so slots never
// travel between independent instances (nor between testing/synctest
// bubbles, which forbid sharing channels). The zero value is ready to use.
type ReplyPool struct{ p sync.Pool }

// Get returns an empty reply slot.
func (p *ReplyPool) Get() *Reply {
	if r, ok := p.p.Get().(*Reply); ok {
		return r
	}
	return NewReply()
}

// Put returns a slot whose answer was received. A slot abandoned before
// its answer must not be put back.
func (p *ReplyPool) Put(r *Reply) {
	r.Reset()
	p.p.Put(r)
}

// Request is a message that carries a reply slot: an actor that cannot
// handle it (it failed) still answers it.
type Request interface {
	ReplySlot() *Reply
}

// ReplySlot implements [Request].
func (m *Install) ReplySlot() *Reply { return m.Reply }

// ReplySlot implements [Request].
func (m *Fill) ReplySlot() *Reply { return m.Reply }

// ReplySlot implements [Request].
func (m *Invalidate) ReplySlot() *Reply { return m.Reply }

// ReplySlot implements [Request].
func (m *InvalidatePrefix) ReplySlot() *Reply { return m.Reply }

// ReplySlot implements [Request].
func (m *Flush) ReplySlot() *Reply { return m.Reply }

// ReplySlot implements [Request].
func (m *LockKey) ReplySlot() *Reply { return m.Reply }

// ReplySlot implements [Request].
func (m *Fence) ReplySlot() *Reply { return m.Reply }

// ReplySlot implements [Request].
func (m *TxnFence) ReplySlot() *Reply { return m.Reply }

// ReplySlot implements [Request].
func (m *TxnCommit) ReplySlot() *Reply { return m.Reply }
