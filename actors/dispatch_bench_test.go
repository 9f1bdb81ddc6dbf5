package actors

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/internal/mailbox"
	"github.com/warpcache/warp/messages"
)

type echo struct{}

type ping struct{ reply *messages.Reply }

func (echo) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *ping:
		m.reply.Send(messages.Result{Applied: true})
	case int:
		ctx.Respond(m)
	}
}

// BenchmarkRoundTrip measures a request to an actor and its answer, the
// cost every shard write pays, for each dispatcher and reply mechanism.
// The inline dispatcher with a pooled reply slot is Warp's choice.
func BenchmarkRoundTrip(b *testing.B) {
	cases := []struct {
		name    string
		d       actor.Dispatcher
		future  bool
		mailbox actor.MailboxProducer
	}{
		{"goroutine-future", actor.NewDefaultDispatcher(300), true, nil},
		{"goroutine-reply", actor.NewDefaultDispatcher(300), false, nil},
		{"inline-future", actor.NewSynchronizedDispatcher(300), true, nil},
		{"inline-reply", actor.NewSynchronizedDispatcher(300), false, nil},
		{"inline-reply-warpmailbox", actor.NewSynchronizedDispatcher(300), false, mailbox.New()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			sys := actor.NewActorSystemWithConfig(actor.Configure(actor.WithLoggerFactory(
				func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) })))
			defer sys.Shutdown()
			opts := []actor.PropsOption{actor.WithDispatcher(c.d)}
			if c.mailbox != nil {
				opts = append(opts, actor.WithMailbox(c.mailbox))
			}
			pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return echo{} }, opts...))
			var pool messages.ReplyPool
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if c.future {
						if _, err := sys.Root.RequestFuture(pid, 1, time.Second).Result(); err != nil {
							b.Error(err)
							return
						}
						continue
					}
					rep := pool.Get()
					sys.Root.Send(pid, &ping{reply: rep})
					rep.Wait()
					pool.Put(rep)
				}
			})
		})
	}
}

// BenchmarkNodeNow measures the node's clock read, which every cache hit
// pays (a key's TTL and the lease are checked against it): the monotonic
// clock through time.Since, whose cost is the host's time source
// (docs/performance.md quotes it).
func BenchmarkNodeNow(b *testing.B) {
	n := &Node{start: time.Now()}
	var sink int64
	for b.Loop() {
		sink += n.Now()
	}
	if sink == 0 {
		b.Fatal("the clock did not move")
	}
}
