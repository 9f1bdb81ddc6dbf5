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
func LapseWait(cfg Config) time.Duration { return cfg.WithDefaults().lapseWait() }

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
	return peerTime(b, id, func(p *peer) time.Time { return p.lastAnswered })
}

// peerTime returns field(peer id) read inside b's actor (zero for an
// unknown peer).
func peerTime(b *Bus, id string, field func(*peer) time.Time) time.Time {
	var at time.Time
	b.root.Send(b.pid, inspect{fn: func(a *busActor) {
		if p := a.peers[id]; p != nil {
			at = field(p)
		}
	}})
	b.sync()
	return at
}

// PeerLease returns b's lease with respect to peer id (zero if none).
func PeerLease(b *Bus, id string) time.Time {
	return peerTime(b, id, func(p *peer) time.Time { return p.leaseUntil })
}

// Renew makes one membership renewal of a manual bus and waits until its
// actor took the result.
func Renew(b *Bus) {
	b.renew()
	b.sync()
}

// ServeMembership runs the Expels, Joins and Leaves b's actor asked for (a manual
// bus has no membership goroutine) and waits until the actor took the
// results.
func ServeMembership(b *Bus) {
	for {
		select {
		case r := <-b.memberReqs:
			b.serve(r)
			b.sync()
		default:
			return
		}
	}
}

// ExpelAfter exposes the expulsion wait of cfg after defaults.
func ExpelAfter(cfg Config) time.Duration { return cfg.WithDefaults().expelAfter() }

// Inbound returns the received bytes waiting for b's actor.
func Inbound(b *Bus) int64 { return b.inbound.Load() }

// RepairDue reports whether b's actor has a repair flush due.
func RepairDue(b *Bus) bool {
	var due bool
	b.root.Send(b.pid, inspect{fn: func(a *busActor) { due = a.repair }})
	b.sync()
	return due
}

// Above returns how many out-of-order sequence numbers b holds for peer
// id, waiting for the hole below them (-1 for an unknown peer).
func Above(b *Bus, id string) int {
	n := -1
	b.root.Send(b.pid, inspect{fn: func(a *busActor) {
		if p := a.peers[id]; p != nil {
			n = len(p.above)
		}
	}})
	b.sync()
	return n
}

// Ghosts returns how many departed members b still waits for.
func Ghosts(b *Bus) int {
	var n int
	b.root.Send(b.pid, inspect{fn: func(a *busActor) { n = len(a.ghosts) }})
	b.sync()
	return n
}

// HeartbeatNumbers returns the numbers of b's recent heartbeats, those
// whose answers it would take.
func HeartbeatNumbers(b *Bus) []uint64 {
	var ns []uint64
	b.root.Send(b.pid, inspect{fn: func(a *busActor) {
		for n := range a.hbSent {
			ns = append(ns, n)
		}
	}})
	b.sync()
	return ns
}

// SetEpoch makes a bus without a Membership started with cfg run under
// epoch e, as a start on a clock set back would.
func SetEpoch(cfg *Config, e uint64) { cfg.epoch = e }

// ViewEpoch returns the epoch under which b's view (with a Membership)
// lists node id (0: not listed).
func ViewEpoch(b *Bus, id string) uint64 {
	var e uint64
	b.root.Send(b.pid, inspect{fn: func(a *busActor) {
		if m := a.members[id]; m != nil {
			e = m.Epoch
		}
	}})
	b.sync()
	return e
}
