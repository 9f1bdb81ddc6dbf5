package mailbox

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

func system(t *testing.T) *actor.ActorSystem {
	t.Helper()
	sys := actor.NewActorSystemWithConfig(actor.Configure(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) })))
	t.Cleanup(sys.Shutdown)
	return sys
}

type msg struct {
	from, n int
	panic   bool
	done    chan int // answered with the actor's incarnation
}

// recorder checks that each sender's messages arrive in order.
type recorder struct {
	incarnation int
	last        map[int]int
	got         *atomic.Int64
	t           *testing.T
}

func (r *recorder) Receive(ctx actor.Context) {
	m, ok := ctx.Message().(*msg)
	if !ok {
		return
	}
	if m.panic {
		panic("boom")
	}
	if m.done != nil {
		m.done <- r.incarnation
		return
	}
	if prev := r.last[m.from]; m.n != prev+1 {
		r.t.Errorf("sender %d: message %d after %d", m.from, m.n, prev)
	}
	r.last[m.from] = m.n
	r.got.Add(1)
}

// Messages posted concurrently by many goroutines are all handled, one at
// a time, each sender's in order, on the inline dispatcher.
func TestConcurrentPostsInOrder(t *testing.T) {
	sys := system(t)
	var got atomic.Int64
	var inside atomic.Int32
	rec := &recorder{last: map[int]int{}, got: &got, t: t}
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		if inside.Add(1) != 1 {
			t.Error("two goroutines inside the actor at once")
		}
		defer inside.Add(-1)
		rec.Receive(ctx)
	}, actor.WithDispatcher(actor.NewSynchronizedDispatcher(8)), actor.WithMailbox(New()))
	pid := sys.Root.Spawn(props)
	const senders, each = 8, 2000
	var wg sync.WaitGroup
	for s := 1; s <= senders; s++ {
		wg.Go(func() {
			for n := 1; n <= each; n++ {
				sys.Root.Send(pid, &msg{from: s, n: n})
			}
		})
	}
	wg.Wait()
	done := make(chan int, 1)
	sys.Root.Send(pid, &msg{done: done})
	<-done
	if n := got.Load(); n != senders*each {
		t.Fatalf("handled %d messages; want %d", n, senders*each)
	}
}

// A panic goes to the supervisor, which restarts the actor; the messages
// behind the one that panicked are handled by the new incarnation.
func TestPanicRestartsAndContinues(t *testing.T) {
	sys := system(t)
	var incarnations atomic.Int32
	var got atomic.Int64
	props := actor.PropsFromProducer(func() actor.Actor {
		return &recorder{incarnation: int(incarnations.Add(1)), last: map[int]int{}, got: &got, t: t}
	}, actor.WithDispatcher(actor.NewSynchronizedDispatcher(300)), actor.WithMailbox(New()),
		actor.WithGuardian(actor.NewRestartingStrategy()))
	pid := sys.Root.Spawn(props)
	done := make(chan int, 1)
	sys.Root.Send(pid, &msg{from: 1, n: 1})
	sys.Root.Send(pid, &msg{panic: true})
	sys.Root.Send(pid, &msg{from: 2, n: 1})
	sys.Root.Send(pid, &msg{done: done})
	if inc := <-done; inc != 2 {
		t.Fatalf("answered by incarnation %d; want 2 (restarted once)", inc)
	}
	if n := got.Load(); n != 2 {
		t.Fatalf("handled %d messages; want 2 (the one before the panic and the one after)", n)
	}
}

// UserMessageCount counts queued user messages.
func TestUserMessageCount(t *testing.T) {
	m := New()().(*mailbox)
	m.user.push(1)
	m.user.push(2)
	if n := m.UserMessageCount(); n != 2 {
		t.Fatalf("UserMessageCount = %d; want 2", n)
	}
}

// The queue keeps FIFO order across compactions and reuses its array.
func TestFIFOCompacts(t *testing.T) {
	var q fifo
	next, want := 0, 0
	for round := 0; round < 50; round++ {
		for range 100 {
			q.push(next)
			next++
		}
		for range 90 {
			if x := q.pop(); x != want {
				t.Fatalf("pop = %v; want %d", x, want)
			}
			want++
		}
	}
	if q.len() != next-want {
		t.Fatalf("len = %d; want %d", q.len(), next-want)
	}
	if cap(q.buf) > 4*(next-want)+256 {
		t.Fatalf("array of %d slots holds %d items: not compacted", cap(q.buf), q.len())
	}
	for q.len() > 0 {
		if x := q.pop(); x != want {
			t.Fatalf("pop = %v; want %d", x, want)
		}
		want++
	}
	if q.pop() != nil {
		t.Fatal("pop on an empty queue returned an item")
	}
}
