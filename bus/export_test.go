package bus

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Test seams for the external tests.

// Sync returns once b's actor has processed everything sent before.
func Sync(b *Bus) { b.sync() }

// Tick runs one tick of b's timed duties and waits for it.
func Tick(b *Bus) {
	b.root.Send(b.pid, tick{})
	b.sync()
}

// NewManual is New without the ticker: the test calls Tick.
func NewManual(system *actor.ActorSystem, cfg Config) (*Bus, error) {
	cfg.manualTick = true
	return New(system, cfg)
}

// LapseWait exposes the lapse wait of cfg after defaults.
func LapseWait(cfg Config) time.Duration { return cfg.withDefaults().lapseWait() }

// Pending returns how many strong publishes of b are waiting.
func Pending(b *Bus) int {
	var n int
	b.root.Send(b.pid, inspect{fn: func(a *busActor) { n = len(a.pending) }})
	b.sync()
	return n
}

// LastAnswered returns when b last answered the heartbeat of peer id (zero
// if it never did).
func LastAnswered(b *Bus, id string) time.Time {
	var at time.Time
	b.root.Send(b.pid, inspect{fn: func(a *busActor) {
		if p := a.peers[id]; p != nil {
			at = p.lastAnswered
		}
	}})
	b.sync()
	return at
}
