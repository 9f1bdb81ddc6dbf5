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
	// Membership anchors the cluster's membership in a linearizable
	// service (Warp uses its primary store: store.Membership). With it
	// the node joins in [New], renews every MemberLease/4, holds its
	// coherence lease only while it is a member and has heard every
	// member, and a strong publish waits for every member: see
	// docs/syncbus.md. Without it (nil) the view is the peers heard
	// within PeerTimeout, which a partition splits: only eventual keys
	// should run on such a bus.
	Membership Membership
	// Keys are the cluster's keys (see wire.Keyring): every bus message is
	// sealed with Keys[0] and a received one is accepted only if it opens
	// under one of them (two during a rotation), before anything in it is
	// decoded. A bus over a network transport (NATS, Kafka) without Keys
	// refuses to start, unless Insecure is set.
	Keys []wire.Key
	// Insecure runs a network transport without Keys: any client that can
	// publish on the cluster's subjects is then a full member (it can
	// forge acks, heartbeats, fences and flushes; docs/security.md lists
	// the effects). For tests and trusted networks only. Transports that
	// stay in the process (inproc) need neither.
	Insecure bool
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
	// PeerTimeout drops a silent peer from the view of a bus without a
	// Membership; default 3s, at least the lapse wait plus one heartbeat
	// interval. A bus with a Membership never drops a member for silence.
	PeerTimeout time.Duration
	// MemberLease is how long one renewal keeps this node a member, from
	// the renewal's send on its own clock; the node renews every
	// MemberLease/4, and other members expel it once its record has not
	// changed for MemberLease·(1+ρ)/(1−ρ) + LeaseMargin on their clocks.
	// Default 2s.
	MemberLease time.Duration
	// JoinTimeout bounds the Join that [New] makes; default 10s.
	JoinTimeout time.Duration
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
	// MaxInboundBytes bounds the received messages waiting for the bus
	// actor while it is busy (an Applier call may take up to
	// ApplyTimeout), counted as their bytes plus their decoded envelopes
	// (88 bytes each, however few bytes they take on the wire); a
	// message that would go beyond it is dropped, counted
	// (warp_bus_rejected_total{reason="inbound"}), and the node flushes
	// once: what was dropped is lost. A message is never dropped while
	// none waits. Default 64 MiB.
	MaxInboundBytes int

	// MaxPeers bounds the nodes this node keeps state for (peers heard,
	// members of its view); a new node beyond it is ignored and counted
	// (warp_bus_rejected_total{reason="peers"}). It must exceed the
	// cluster's size: while the membership lists a member the view leaves
	// out, strong publishes fail with ErrQuorum. Default 256, at most
	// 65536.
	MaxPeers int
	// MaxPending bounds the strong publishes waiting for acks; one more
	// fails at once with ErrQuorum. Default 65536.
	MaxPending int
	// RetransmitRate bounds the envelopes this node retransmits per
	// second, to all requesters together; default 4×RingSize.
	RetransmitRate int
	// FlushInterval bounds the flushes this node applies for other
	// nodes' flush broadcasts: at most one per interval; the flushes
	// asked for within it become one repair flush at its end, with the
	// lease off until then. Default 1s.
	FlushInterval time.Duration

	// manualTick turns the ticker off; tests tick by hand.
	manualTick bool
	// epoch, if not 0 (tests), is the epoch of a bus without a
	// Membership, as a start on a clock set back would give.
	epoch uint64
}

// WithDefaults returns c with every zero field set to its default, as New
// sets them: the timings and bounds a node configured with c runs with.
// Code that sizes its own timeouts against the bus's (Warp's write bound,
// a test harness's faults) reads them here rather than copying them.
func (c Config) WithDefaults() Config {
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
	dur(&c.MemberLease, 2*time.Second)
	dur(&c.JoinTimeout, 10*time.Second)
	dur(&c.ApplyTimeout, 5*time.Second)
	num(&c.QueueSize, 8192)
	num(&c.MaxBatch, 256)
	num(&c.MaxBatchBytes, 64<<10)
	num(&c.MaxInboundBytes, 64<<20)
	num(&c.RingSize, 8192)
	num(&c.RetransmitTries, 3)
	num(&c.MaxPeers, 256)
	num(&c.MaxPending, 1<<16)
	num(&c.RetransmitRate, 4*c.RingSize)
	dur(&c.FlushInterval, time.Second)
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
	case len(c.Keys) == 0 && !c.Insecure && !inProcess(c.Transport):
		return bad("a bus over the network needs the cluster's Keys (wire.GenerateKey, wire.LoadKeys), or Insecure set knowingly")
	case c.HeartbeatInterval < 0 || c.LeaseDuration <= c.HeartbeatInterval:
		return bad("LeaseDuration %v must exceed HeartbeatInterval %v", c.LeaseDuration, c.HeartbeatInterval)
	case c.MaxClockDrift < 0 || c.MaxClockDrift > 0.5:
		return bad("MaxClockDrift %v out of [0, 0.5]", c.MaxClockDrift)
	case c.PeerTimeout < c.lapseWait()+c.HeartbeatInterval:
		return bad("PeerTimeout %v below lapse wait %v plus a heartbeat", c.PeerTimeout, c.lapseWait())
	case c.MemberLease <= 4*c.tick():
		return bad("MemberLease %v must exceed four ticks (%v)", c.MemberLease, 4*c.tick())
	case c.QueueSize < 0 || c.MaxBatch < 1 || c.MaxBatch > wire.MaxBatch || c.MaxBatchBytes < 1 || c.RingSize < 1 || c.MaxInboundBytes < 1:
		return bad("queue, batch and ring sizes must be positive")
	case c.MaxPeers < 1 || c.MaxPeers > 1<<16 || c.MaxPending < 1 || c.RetransmitRate < 1 || c.FlushInterval < 0:
		return bad("MaxPeers must be in [1, 65536]; MaxPending and RetransmitRate positive; FlushInterval not negative")
	}
	return nil
}

// InProcess is implemented by transports that never leave the process
// (inproc, and wrappers of it): they need no cluster key.
type InProcess interface {
	InProcess() bool
}

func inProcess(t Transport) bool {
	ip, ok := t.(InProcess)
	return ok && ip.InProcess()
}

// lapseWait is how long after it last answered a peer's heartbeat a writer
// waits before it counts the peer's lease, LeaseDuration on the peer's
// clock, as lapsed (see docs/syncbus.md).
func (c Config) lapseWait() time.Duration { return c.outlast(c.LeaseDuration) }

// expelAfter is how long a member's record must stay unchanged, on the
// observer's clock from the renewal reply that first showed it, before the
// member's own membership lease has provably ended (see docs/syncbus.md).
func (c Config) expelAfter() time.Duration { return c.outlast(c.MemberLease) }

// outlast is how long, on this node's clock, it takes for a lease of d on
// another node's clock to have provably ended: that clock may run slow by
// MaxClockDrift while this one runs fast by as much; plus LeaseMargin.
func (c Config) outlast(d time.Duration) time.Duration {
	ρ := c.MaxClockDrift
	return time.Duration(float64(d)*(1+ρ)/(1-ρ)) + c.LeaseMargin
}

// renewEvery is the period of membership renewals.
func (c Config) renewEvery() time.Duration { return c.MemberLease / 4 }

// tick is the period of the bus's internal timer.
func (c Config) tick() time.Duration { return max(c.HeartbeatInterval/4, time.Millisecond) }
