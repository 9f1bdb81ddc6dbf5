package bus

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/warpcache/warp/messages/wire"
)

// Config configures [New]. Cluster, NodeID, Transport and Applier are
// required; every other zero field takes the documented default.
type Config struct {
	// Cluster names the group of nodes that share a primary store.
	Cluster string
	// NodeID is this node's id, unique in the cluster, at most
	// wire.MaxNodeIDLen bytes.
	NodeID string
	// Transport carries the bus messages; the Bus owns it and closes it.
	Transport Transport
	// Applier applies remote events.
	Applier Applier
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Every time the bus computes
	// (leases, timeouts, heartbeats) is measured with it; the tickers
	// that drive the bus run on real time.
	Now func() time.Time

	// HeartbeatInterval is how often the node broadcasts a heartbeat and
	// renews its lease; default 100ms. The bus's internal tick is a
	// quarter of it.
	HeartbeatInterval time.Duration
	// LeaseDuration is how long one answered heartbeat keeps the node's
	// coherence lease; default 5×HeartbeatInterval.
	LeaseDuration time.Duration
	// MaxClockDrift bounds the rate difference between any node's
	// monotonic clock and real time (0.01 = 1%); default 0.01, at most
	// 0.5.
	MaxClockDrift float64
	// LeaseMargin is added to the lapse wait to cover scheduling; default
	// 10ms.
	LeaseMargin time.Duration
	// PeerTimeout drops a silent peer from the membership view; default
	// 3s, at least the lapse wait plus one heartbeat interval.
	PeerTimeout time.Duration
	// StrongTimeout bounds PublishStrong when its context has no earlier
	// deadline; default 2s.
	StrongTimeout time.Duration
	// ApplyTimeout bounds each Applier call: its context ends between
	// ApplyTimeout/2 and ApplyTimeout after the call starts. Default 5s.
	ApplyTimeout time.Duration

	// QueueSize bounds the asynchronous publish queue; a Publish that
	// finds it full turns into a flush broadcast. Default 8192.
	QueueSize int
	// MaxBatch bounds the envelopes per bus message; default 256.
	MaxBatch int
	// MaxBatchBytes bounds the bytes per bus message; default 64 KiB.
	MaxBatchBytes int
	// RingSize is how many recent envelopes are kept for retransmission;
	// default 8192.
	RingSize int
	// RetransmitTries is how many retransmit requests a gap gets before
	// the node repairs it with a flush; default 3.
	RetransmitTries int

	// manualTick turns the ticker off; tests tick by hand.
	manualTick bool
}

func (c Config) withDefaults() Config {
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	num := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxClockDrift == 0 {
		c.MaxClockDrift = 0.01
	}
	dur(&c.HeartbeatInterval, 100*time.Millisecond)
	dur(&c.LeaseDuration, 5*c.HeartbeatInterval)
	dur(&c.LeaseMargin, 10*time.Millisecond)
	dur(&c.PeerTimeout, max(3*time.Second, c.lapseWait()+c.HeartbeatInterval))
	dur(&c.StrongTimeout, 2*time.Second)
	dur(&c.ApplyTimeout, 5*time.Second)
	num(&c.QueueSize, 8192)
	num(&c.MaxBatch, 256)
	num(&c.MaxBatchBytes, 64<<10)
	num(&c.RingSize, 8192)
	num(&c.RetransmitTries, 3)
	return c
}

func (c Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: config: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Cluster == "" || c.NodeID == "":
		return bad("empty Cluster or NodeID")
	case len(c.NodeID) > wire.MaxNodeIDLen:
		return bad("NodeID over %d bytes", wire.MaxNodeIDLen)
	case c.Transport == nil || c.Applier == nil:
		return bad("nil Transport or Applier")
	case c.HeartbeatInterval < 0 || c.LeaseDuration <= c.HeartbeatInterval:
		return bad("LeaseDuration %v must exceed HeartbeatInterval %v", c.LeaseDuration, c.HeartbeatInterval)
	case c.MaxClockDrift < 0 || c.MaxClockDrift > 0.5:
		return bad("MaxClockDrift %v out of [0, 0.5]", c.MaxClockDrift)
	case c.PeerTimeout < c.lapseWait()+c.HeartbeatInterval:
		return bad("PeerTimeout %v below lapse wait %v plus a heartbeat", c.PeerTimeout, c.lapseWait())
	case c.QueueSize < 0 || c.MaxBatch < 1 || c.MaxBatch > wire.MaxBatch || c.MaxBatchBytes < 1 || c.RingSize < 1:
		return bad("queue, batch and ring sizes must be positive")
	}
	return nil
}

// lapseWait is how long after it last answered a peer's heartbeat a writer
// waits before it counts the peer's lease as lapsed: the lease lasts
// LeaseDuration on the peer's clock, which may run slow by MaxClockDrift
// while the writer's runs fast by as much (see docs/syncbus.md).
func (c Config) lapseWait() time.Duration {
	d := c.MaxClockDrift
	return time.Duration(float64(c.LeaseDuration)*(1+d)/(1-d)) + c.LeaseMargin
}

// tick is the period of the bus's internal timer.
func (c Config) tick() time.Duration { return max(c.HeartbeatInterval/4, time.Millisecond) }
