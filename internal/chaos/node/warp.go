package node

import (
	"context"
	"errors"
	"fmt"
	"github.com/warpcache/warp/messages/wire"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/store/postgres"
)

// The key families every node registers.
const (
	// StrongPrefix starts the keys registered ModeStrongDistributed.
	StrongPrefix = "s:"
	// QuorumPrefix starts the keys registered ModeStrongDistributed with
	// SetQuorum(1): a write needs at least one peer's ack, so a node that
	// has lost every peer fails its writes with ErrQuorum, which must
	// then have written nothing.
	QuorumPrefix = "q:"
	// EventualPrefix starts the keys registered ModeEventualDistributed.
	EventualPrefix = "e:"
	// ServeStalePrefix starts the keys registered ModeEventualDistributed
	// WithServeStale(ServeStaleAge): served without the lease for
	// ServeStaleAge after it ended, so their staleness bound is
	// StalenessBound + ServeStaleAge.
	ServeStalePrefix = "v:"
	// ServeStaleAge is the serve-stale family's maxAge: shorter than the
	// long cuts and pauses, so that the bound is tested, not the TTL.
	ServeStaleAge = time.Second
	// KeyTTL is every family's TTL: far beyond any run, so that no read is
	// fresh because an entry expired.
	KeyTTL = time.Hour
)

// Warp's timing on every node: the bus's defaults, read from the bus
// (bus.Config.WithDefaults) so that [StalenessBound] and [Timing] follow
// what the nodes run with. TestNATSTimingIsTheDefault checks the NATS
// pings against natsbus's defaults.
var defaults = bus.Config{}.WithDefaults()

const (
	natsPing     = 2 * time.Second
	natsPingsOut = 2
)

// EnvClusterKey names the environment variable through which the
// controller gives every node the run's cluster key.
const EnvClusterKey = "WARP_CLUSTER_KEY"

// StrongPrefixes are the prefixes of the StrongDistributed families.
var StrongPrefixes = []string{StrongPrefix, QuorumPrefix}

// Prefixes are the prefixes of every family: the EventualDistributed
// ones, then StrongPrefixes.
var Prefixes = append([]string{EventualPrefix, ServeStalePrefix}, StrongPrefixes...)

// Settings are what the controller tells a node at start.
type Settings struct {
	// ID is the node id (n1..nN), stable across restarts.
	ID string
	// Cluster names the bus cluster, one per run.
	Cluster string
	// NATS is the URL of the node's fault proxy.
	NATS string
	// DSN is the PostgreSQL connection string; Table the run's table
	// (created by the controller).
	DSN, Table string
	// Canary breaks the node on purpose (see register): the canary
	// scenario's runs must fail.
	Canary bool
}

// newWarp builds the node's Warp instance: every Warp setting of a chaos
// node is made here. It returns the instance and the function that closes
// it and its store's pool.
func newWarp(ctx context.Context, s Settings, clock actors.Clock) (*api.Warp[string], func(), error) {
	pcfg, err := pgxpool.ParseConfig(s.DSN)
	if err != nil {
		return nil, nil, fmt.Errorf("node: postgres DSN: %w", err)
	}
	pcfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("node: postgres: %w", err)
	}
	st, err := postgres.New[string](ctx, pool, nil, postgres.Config{Table: s.Table, SkipSchema: true})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	keys, err := wire.LoadKeys(EnvClusterKey)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("node: the cluster key: %w", err)
	}
	tr, err := natsbus.Dial(s.NATS, natsbus.Options{
		Name: "warp-chaos-" + s.ID, PingInterval: natsPing, MaxPingsOutstanding: natsPingsOut,
	})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	w, err := api.New[string](st,
		api.WithNodeConfig[string](actors.Config{ID: s.ID, Clock: clock}),
		api.WithBus[string](bus.Config{
			Cluster: s.Cluster, Transport: tr, Keys: keys, // the default timings
		}),
	)
	if err != nil {
		_ = tr.Close()
		pool.Close()
		return nil, nil, err
	}
	closeAll := func() { _ = w.Close(); pool.Close() }
	if err := register(w, s.Canary); err != nil {
		closeAll()
		return nil, nil, err
	}
	return w, closeAll, nil
}

// register registers the key families on w. With canary it breaks the
// promises the checkers judge, to show that they catch it: every family
// is registered EventualDistributed, serving its cached copies without
// the lease for KeyTTL after it ended (WithServeStale(KeyTTL)), so across
// a cut each side serves copies the other side has replaced, for as long
// as the cut lasts, and no write waits for a peer.
func register(w *api.Warp[string], canary bool) error {
	if canary {
		var errs []error
		for _, prefix := range Prefixes {
			errs = append(errs, w.Register(prefix+"*", api.ModeEventualDistributed, KeyTTL, api.WithServeStale(KeyTTL)))
		}
		return errors.Join(errs...)
	}
	return errors.Join(
		w.Register(StrongPrefix+"*", api.ModeStrongDistributed, KeyTTL),
		w.Register(QuorumPrefix+"*", api.ModeStrongDistributed, KeyTTL),
		w.SetQuorum(QuorumPrefix+"*", 1),
		w.Register(EventualPrefix+"*", api.ModeEventualDistributed, KeyTTL),
		w.Register(ServeStalePrefix+"*", api.ModeEventualDistributed, KeyTTL, api.WithServeStale(ServeStaleAge)),
	)
}

// StalenessBound is how long after a write returned another node may
// still serve the older value of an EventualDistributed key, the bound
// docs/core.md documents: a reader's lease comes from a heartbeat answer
// of the writer that predates the write (a later answer counts only once
// the reader applied everything the writer had sent, the invalidation
// included), and lasts LeaseDuration on the reader's clock, so at most
// LeaseDuration/(1−ρ) in real time; plus LeaseMargin for scheduling.
// With Warp's defaults: 515 ms.
func StalenessBound() time.Duration {
	lease, drift := float64(defaults.LeaseDuration), defaults.MaxClockDrift
	return time.Duration(lease/(1-drift)) + defaults.LeaseMargin
}

// Timings are the nodes' Warp timeouts, which the scenarios size their
// faults against.
type Timings struct {
	// Lease is the coherence lease (LeaseDuration), the shortest timeout.
	Lease time.Duration
	// Strong bounds a strong write's wait for acks (StrongTimeout).
	Strong time.Duration
	// Member is a renewal's membership lease (MemberLease); a silent
	// member is expelled a little over it after its last renewal.
	Member time.Duration
	// Apply bounds each applied bus event (ApplyTimeout).
	Apply time.Duration
	// DeadConn is how long a dead NATS connection goes unnoticed
	// (PingInterval × MaxPingsOutstanding).
	DeadConn time.Duration
}

// Timing returns the nodes' timeouts.
func Timing() Timings {
	return Timings{
		Lease: defaults.LeaseDuration, Strong: defaults.StrongTimeout, Apply: defaults.ApplyTimeout, Member: defaults.MemberLease,
		DeadConn: natsPing * natsPingsOut,
	}
}

// Longest returns the longest of t's timeouts.
func (t Timings) Longest() time.Duration {
	return max(t.Lease, t.Strong, t.Apply, t.DeadConn, 2*t.Member)
}
