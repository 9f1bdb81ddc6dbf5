// Package mailbox is the protoactor mailbox of Warp's actors.
package mailbox

import (
	"runtime"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// New returns the mailbox producer Warp's actors use with the inline
// dispatcher: a protoactor [actor.Mailbox] whose queues and run state sit
// under one mutex, on one or two cache lines.
//
// protoactor's default mailbox keeps a lock-guarded ring for user
// messages, a lock-free queue for system messages and four atomic
// counters, and allocates a closure each time it schedules itself. With
// the inline dispatcher every request pays all of it on the caller's
// goroutine, and on 2 cores those lines move between the cores on most
// requests. This one behaves the same way (system messages first, suspend
// and resume, a panic escalated to the supervisor with the message that
// caused it, a yield every Throughput messages) at about half the cost
// (BenchmarkRoundTrip).
func New() actor.MailboxProducer {
	return func() actor.Mailbox {
		m := &mailbox{}
		m.run = m.process
		return m
	}
}

type mailbox struct {
	mu        sync.Mutex
	user, sys fifo
	running   bool // a goroutine is in process, or about to be
	suspended bool
	// first is a user message handed straight to the run it starts: it
	// found the mailbox idle with nothing queued, so it is next in any
	// order, and needs no trip through the queue and a second lock.
	first any

	invoker    actor.MessageInvoker
	dispatcher actor.Dispatcher
	run        func() // m.process, bound once: scheduling allocates nothing
}

// PostUserMessage implements [actor.Mailbox].
func (m *mailbox) PostUserMessage(msg any) {
	m.mu.Lock()
	if !m.running && !m.suspended && m.sys.len() == 0 && m.user.len() == 0 {
		m.first = msg
	} else {
		m.user.push(msg)
	}
	m.scheduleLocked()
}

// PostSystemMessage implements [actor.Mailbox].
func (m *mailbox) PostSystemMessage(msg any) {
	m.mu.Lock()
	m.sys.push(msg)
	m.scheduleLocked()
}

// scheduleLocked starts processing unless a goroutine already does; it
// unlocks m.mu.
func (m *mailbox) scheduleLocked() {
	if m.running {
		m.mu.Unlock()
		return
	}
	m.running = true
	m.mu.Unlock()
	m.dispatcher.Schedule(m.run)
}

// RegisterHandlers implements [actor.Mailbox].
func (m *mailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	m.invoker, m.dispatcher = invoker, dispatcher
}

// Start implements [actor.Mailbox].
func (m *mailbox) Start() {}

// UserMessageCount implements [actor.Mailbox].
func (m *mailbox) UserMessageCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.user.len()
}

// process runs messages until none is left (or the mailbox is suspended),
// then clears running under the lock, so a message posted meanwhile is
// either taken here or schedules a new run.
func (m *mailbox) process() {
	var msg any
	defer func() {
		if r := recover(); r != nil {
			// As protoactor's mailbox: the supervisor decides (Warp's
			// shards restart empty); the messages behind this one wait
			// for the restart's resume.
			m.invoker.EscalateFailure(r, msg)
			m.mu.Lock()
			m.running = false
			if m.sys.len() > 0 || !m.suspended && m.user.len() > 0 {
				m.scheduleLocked()
				return
			}
			m.mu.Unlock()
		}
	}()
	n, throughput := 0, m.dispatcher.Throughput()
	// The run that starts with a handed-over message owns it: it was set
	// under the lock before running, and no other run starts until this
	// one clears running.
	if msg = m.first; msg != nil {
		m.first = nil
		m.invoker.InvokeUserMessage(msg)
		n++
	}
	for {
		m.mu.Lock()
		if msg = m.sys.pop(); msg != nil {
			m.mu.Unlock()
			switch msg.(type) {
			case *actor.SuspendMailbox:
				m.mu.Lock()
				m.suspended = true
				m.mu.Unlock()
			case *actor.ResumeMailbox:
				m.mu.Lock()
				m.suspended = false
				m.mu.Unlock()
			default:
				m.invoker.InvokeSystemMessage(msg)
			}
			continue
		}
		if m.suspended {
			m.running = false
			m.mu.Unlock()
			return
		}
		if msg = m.user.pop(); msg == nil {
			m.running = false
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		m.invoker.InvokeUserMessage(msg)
		if n++; n >= throughput {
			n = 0
			runtime.Gosched()
		}
	}
}

// fifo is a queue on a slice; it reuses its array once drained and
// compacts it when most of it is consumed.
type fifo struct {
	buf  []any
	head int
}

func (q *fifo) len() int { return len(q.buf) - q.head }

func (q *fifo) push(x any) {
	if q.head > 64 && q.head > len(q.buf)/2 {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, x)
}

func (q *fifo) pop() any {
	if q.head == len(q.buf) {
		return nil
	}
	x := q.buf[q.head]
	q.buf[q.head] = nil
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	return x
}
