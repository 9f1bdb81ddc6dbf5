package api

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/natstest"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages/wire"
	"github.com/warpcache/warp/store/memory"
)

// The forged-traffic tests: a client that can publish on the cluster's
// subjects but holds no cluster key (a plain nats.go connection, envelopes
// built with messages/wire) attacks two nodes. With a key, each attack
// must change nothing but a rejection counter; run Insecure, each test
// logs what the attack does, the figures docs/security.md quotes. Every
// loop is bounded.

// forgeSetup is two nodes on an embedded NATS server, sharing a memory
// store (and its membership), and the attacker's connection.
type forgeSetup struct {
	nodes   []*Warp[string]
	store   *memory.Store[string]
	nc      *nats.Conn
	cluster string
	flushes []atomic.Int64 // flushes applied, per node
}

func newForgeSetup(t *testing.T, secure bool) *forgeSetup {
	t.Helper()
	srv := natstest.Start(t, nil)
	f := &forgeSetup{store: memory.New[string](memory.Options{}), cluster: "forged", flushes: make([]atomic.Int64, 2)}
	for i := range 2 {
		tr, err := natsbus.Dial(srv.URL(), natsbus.Options{ReconnectWait: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		cfg := bus.Config{Cluster: f.cluster, Transport: tr, HeartbeatInterval: 20 * time.Millisecond,
			LeaseDuration: 100 * time.Millisecond, MemberLease: 400 * time.Millisecond, StrongTimeout: 2 * time.Second}
		if secure {
			cfg.Keys = testKeys
		} else {
			cfg.Insecure = true
		}
		w, err := New[string](f.store, WithNodeConfig[string](actors.Config{ID: fmt.Sprintf("n%d", i)}), WithBus[string](cfg),
			WithInvalidationListener[string](func(ev Invalidation) {
				if ev.Prefix && ev.Key == "" {
					f.flushes[i].Add(1)
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		for p, m := range map[string]Mode{"s:*": ModeStrongDistributed, "e:*": ModeEventualDistributed} {
			if err := w.Register(p, m, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		f.nodes = append(f.nodes, w)
	}
	waitFor(t, 10*time.Second, "both leases", func() bool { return f.nodes[0].Bus().LeaseValid() && f.nodes[1].Bus().LeaseValid() })
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	f.nc = nc
	t.Cleanup(f.nc.Close)
	return f
}

func (f *forgeSetup) bcast() string         { return "warp." + f.cluster + ".bcast" }
func (f *forgeSetup) inbox(n string) string { return "warp." + f.cluster + ".node." + n }

// publish sends a forged message and waits until the server has it.
func (f *forgeSetup) publish(t *testing.T, subject string, msg []byte) {
	t.Helper()
	if err := f.nc.Publish(subject, msg); err != nil {
		t.Fatal(err)
	}
	if err := f.nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// forge encodes envs as the attacker would (no key).
func forge(t *testing.T, envs ...wire.Envelope) []byte {
	t.Helper()
	b, err := wire.Append(nil, envs...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rejected is how many messages node i dropped on arrival.
func (f *forgeSetup) rejected(i int) uint64 { return f.nodes[i].Bus().Stats().Malformed }

// settle waits until node i has dropped or taken n more messages, bounded.
func (f *forgeSetup) settleRejected(t *testing.T, i int, before, n uint64) {
	t.Helper()
	waitFor(t, 5*time.Second, "the forged messages rejected", func() bool { return f.rejected(i) >= before+n })
}

func bothModes(t *testing.T, fn func(t *testing.T, f *forgeSetup, secure bool)) {
	for _, secure := range []bool{true, false} {
		name := map[bool]string{true: "with key", false: "insecure"}[secure]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newForgeSetup(t, secure), secure)
		})
	}
}

// A fake restart of n1 sent to n0, then forged acks and heartbeat answers
// posing as n1: n0's strong writes must never return while n1 serves the
// old value.
func TestForgedRestartAndAcks(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, f *forgeSetup, secure bool) {
		ctx := context.Background()
		n0, n1 := f.nodes[0], f.nodes[1]
		if err := n0.Set(ctx, "s:k", "v0"); err != nil {
			t.Fatal(err)
		}
		// A strong key is cached once the join's grace period (twice
		// StrongTimeout and a lease, about 4.2 s here) has passed, later if
		// a loaded host made a node rejoin: a wait, not a bound under test.
		waitFor(t, 15*time.Second, "n1 caches v0", func() bool {
			v, _ := n1.Get(ctx, "s:k")
			_, cached := n1.router.Shard(n1.router.Hash("s:k")).Load("s:k")
			return v == "v0" && cached
		})
		fake := n1.Bus().Epoch() + 1
		// Answer every strong envelope of n0 with an ack from the fake n1,
		// and every heartbeat with an answer.
		sub, err := f.nc.Subscribe(f.bcast(), func(m *nats.Msg) {
			body := m.Data
			if secure && len(body) > wire.SealOverhead {
				body = body[wire.SealHeaderLen : len(body)-wire.TagLen] // readable, not forgeable
			}
			envs, err := wire.Decode(body)
			if err != nil || envs[0].Origin != "n0" {
				return
			}
			for _, e := range envs {
				var r wire.Envelope
				switch {
				case e.Strong:
					r = wire.Envelope{Origin: "n1", Epoch: fake, Op: wire.OpAck, Ref: e.Seq, Version: e.Version, Watermark: e.Epoch}
				case e.Op == wire.OpHeartbeat:
					r = wire.Envelope{Origin: "n1", Epoch: fake, Op: wire.OpHeartbeatAck, Ref: e.Ref, Member: true}
				default:
					continue
				}
				b, _ := wire.Append(nil, r)
				_ = f.nc.Publish(f.inbox("n0"), b)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		f.publish(t, f.bcast(), forge(t, wire.Envelope{Origin: "n1", Epoch: fake, Op: wire.OpHeartbeat, Ref: 1}))
		stale, reads, writes := 0, 0, 0
		deadline := time.Now().Add(time.Second)
		for i := 0; time.Now().Before(deadline) && i < 200; i++ {
			v := fmt.Sprintf("v%d", i+1)
			if err := n0.Set(ctx, "s:k", v); err != nil {
				continue // ErrQuorum: nothing written
			}
			writes++
			for range 20 {
				got, err := n1.Get(ctx, "s:k")
				reads++
				if err == nil && got != v {
					stale++
				}
			}
		}
		t.Logf("%d strong writes on n0, %d reads on n1, %d stale; n0 rejected %d messages, n1's lease valid: %v",
			writes, reads, stale, f.rejected(0), n1.Bus().LeaseValid())
		if stale != 0 {
			t.Fatalf("%d of %d reads on n1 returned a value older than a write n0 completed", stale, reads)
		}
		if secure && writes == 0 {
			t.Fatal("with a key, the forged traffic stopped n0's strong writes")
		}
	})
}

// rawInvalidation encodes, by hand, an invalidation whose version the
// codec would refuse to write: what a forger can send.
func rawInvalidation(origin string, epoch, seq uint64, key string, version uint64) []byte {
	b := []byte{wire.FormatVersion}
	b = binary.AppendUvarint(b, uint64(len(origin)))
	b = append(b, origin...)
	b = binary.AppendUvarint(b, epoch)
	b = binary.AppendUvarint(b, 1)
	b = append(b, byte(wire.OpInvalidate))
	b = binary.AppendUvarint(b, 1<<1|1<<2|1<<3) // seq, key, version
	b = binary.AppendUvarint(b, seq)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return binary.AppendUvarint(b, version)
}

// An invalidation with version 2^63+1, and one a day ahead, move no
// node's clock, and writes to the store go on.
func TestForgedFutureVersion(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, f *forgeSetup, secure bool) {
		ctx := context.Background()
		n1 := f.nodes[1]
		before, rej := n1.node.HLC().Last(), f.rejected(1)
		f.publish(t, f.bcast(), rawInvalidation("n0", f.nodes[0].Bus().Epoch(), 1<<40, "e:k", 1<<63+1))
		f.settleRejected(t, 1, rej, 1)
		day := merge.MakeVersion(time.Now().Add(24 * time.Hour))
		f.publish(t, f.bcast(), forge(t, wire.Envelope{Origin: "x", Epoch: 1, Op: wire.OpInvalidate, Seq: 1, Key: "e:k", Version: day}))
		if !secure {
			waitFor(t, 5*time.Second, "the day-ahead version refused", func() bool { return n1.Bus().Stats().Rejected[bus.RejectClock] > 0 })
		} else {
			f.settleRejected(t, 1, rej, 2)
		}
		if last := n1.node.HLC().Last(); last >= day || last > before+merge.MakeVersion(time.Unix(60, 0)) {
			t.Fatalf("n1's clock moved from %v to %v", before.Time(), last.Time())
		}
		for _, w := range f.nodes {
			if err := w.Set(ctx, "e:after", "ok"); err != nil {
				t.Fatalf("a Set after the forged versions: %v", err)
			}
		}
		t.Logf("n1 dropped %d messages on arrival, refused %d versions as ahead; its clock stayed at %v",
			f.rejected(1), n1.Bus().Stats().Rejected[bus.RejectClock], n1.node.HLC().Last().Time())
	})
}

// Heartbeats from ever new node ids (a thousand here) keep no node's lease
// from holding, get no answer, and are kept in at most MaxPeers states.
func TestForgedNewNodes(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, f *forgeSetup, secure bool) {
		ctx := context.Background()
		var answers atomic.Int64
		sub, err := f.nc.Subscribe(f.inbox("*"), func(m *nats.Msg) {
			if m.Subject != f.inbox("n0") && m.Subject != f.inbox("n1") {
				answers.Add(1)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		repairs := f.nodes[1].Bus().Stats().Repairs
		for i := range 1000 {
			f.publish(t, f.bcast(), forge(t, wire.Envelope{Origin: fmt.Sprintf("fake-%d", i), Epoch: 1, Op: wire.OpHeartbeat, Ref: 1, Watermark: 3}))
		}
		// The lease itself may lapse for a moment on a loaded host (its
		// 100 ms need a heartbeat answered in time); what fake ids must
		// never do is enter the view, cause a repair or get an answer.
		lost, reads, inView := 0, 0, 0
		for range 200 {
			if !f.nodes[1].Bus().LeaseValid() {
				lost++
			}
			if slices.ContainsFunc(f.nodes[1].Bus().Members(), func(m string) bool { return strings.HasPrefix(m, "fake-") }) {
				inView++
			}
			reads++
			<-time.After(time.Millisecond)
		}
		_, err = f.nodes[0].Bus().PublishStrong(ctx, "s:k", 0, 0)
		st := f.nodes[1].Bus().Stats()
		t.Logf("n1: lease lost in %d of %d samples, a fake id in the view in %d, %d repairs, %d answers to the fake ids, %d rejected as over MaxPeers, %d dropped on arrival; a strong publish: %v",
			lost, reads, inView, st.Repairs-repairs, answers.Load(), st.Rejected[bus.RejectPeers], st.Malformed, err)
		if inView != 0 || st.Repairs != repairs || err != nil || answers.Load() != 0 {
			t.Fatalf("fake nodes: in the view in %d samples, %d repairs, strong publish %v, %d answers sent to them; want none", inView, st.Repairs-repairs, err, answers.Load())
		}
		if secure && st.Malformed < 1000 {
			t.Fatalf("with a key, %d of 1000 forged heartbeats dropped on arrival", st.Malformed)
		}
		if !secure && st.Rejected[bus.RejectPeers] == 0 {
			t.Fatal("insecure, no fake id was refused over MaxPeers: n1 kept state for all 1000")
		}
	})
}

// One message of MaxBatch flushes, sent ten times: at most one flush a
// FlushInterval is applied.
func TestForgedFlushStorm(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, f *forgeSetup, secure bool) {
		before := f.flushes[1].Load()
		epoch := f.nodes[0].Bus().Epoch()
		seq := uint64(1 << 30)
		for range 10 {
			envs := make([]wire.Envelope, 4096)
			for i := range envs {
				seq++
				envs[i] = wire.Envelope{Origin: "n0", Epoch: epoch, Op: wire.OpFlush, Seq: seq}
			}
			f.publish(t, f.bcast(), forge(t, envs...))
		}
		start := time.Now()
		waitFor(t, 5*time.Second, "the storm taken", func() bool {
			return secure && f.rejected(1) >= 10 || !secure && f.flushes[1].Load() > before
		})
		<-time.After(500 * time.Millisecond)
		applied := f.flushes[1].Load() - before
		t.Logf("%d flush envelopes sent; %d flushes applied by n1 within %v", 10*4096, applied, time.Since(start).Round(time.Millisecond))
		if secure && applied != 0 {
			t.Fatalf("with a key, n1 applied %d forged flushes", applied)
		}
		if limit := int64(time.Since(start)/time.Second) + 2; applied > limit {
			t.Fatalf("n1 applied %d flushes in %v; want at most one a second", applied, time.Since(start))
		}
	})
}

// Fences on 200,000 arbitrary keys leave at most MaxFences fenced keys per
// shard.
func TestForgedFences(t *testing.T) {
	t.Parallel()
	bothModes(t, func(t *testing.T, f *forgeSetup, secure bool) {
		n1 := f.nodes[1]
		token := n1.node.HLC().Now()
		seq := uint64(1 << 30)
		applied := n1.Bus().Stats().Applied
		// One batch at a time, each taken before the next is sent: what is
		// tested is the fence table's bound, not a burst, which a loaded
		// host's NATS server or n1's inbound limit may drop in part (the
		// wait would then never end). Each batch's bound is against a
		// hang, not a timing: beside the rest of make test under -race, a
		// batch can take seconds.
		// A batch not taken within 10 s is replaced by a fresh one,
		// under n0's epoch of the moment: under make test's load n0 can
		// lose its membership and rejoin under a new epoch, after which
		// n1 ignores the old one's envelopes (once, batch 29 was never
		// taken, sent six times under the epoch read at the start).
		send := func() {
			epoch := f.nodes[0].Bus().Epoch()
			envs := make([]wire.Envelope, 4096)
			for i := range envs {
				seq++
				envs[i] = wire.Envelope{Origin: "n0", Epoch: epoch, Op: wire.OpInvalidate, Seq: seq,
					Key: fmt.Sprintf("s:%d", seq), Version: token, Fence: true}
			}
			f.publish(t, f.bcast(), forge(t, envs...))
		}
		for b := range 50 {
			send()
			sent, resent := time.Now(), 0
			for deadline := time.Now().Add(60 * time.Second); ; <-time.After(time.Millisecond) {
				st := n1.Bus().Stats()
				if secure && st.Malformed >= uint64(b+1) || !secure && st.Applied >= applied+uint64(b+1)*4096 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("batch %d not taken within 60s (%d times sent again); n1's bus: %+v", b, resent, st)
				}
				if time.Since(sent) > 10*time.Second {
					t.Logf("batch %d not taken within 10s, sent again (n0's epoch now %d); n1's bus: %+v", b, f.nodes[0].Bus().Epoch(), st)
					send()
					sent, resent = time.Now(), resent+1
				}
			}
		}
		fenced, overflows := 0, uint64(0)
		for _, v := range n1.router.Shards() {
			fenced += v.Fences()
			overflows += v.Stats().FenceOverflows.Load()
		}
		t.Logf("%d forged fences: %d keys fenced on n1 over %d shards, %d not recorded (over MaxFences)",
			50*4096, fenced, len(n1.router.Shards()), overflows)
		if max := 1024 * len(n1.router.Shards()); fenced > max {
			t.Fatalf("%d keys fenced; want at most %d", fenced, max)
		}
		if secure && fenced != 0 {
			t.Fatalf("with a key, %d forged fences recorded", fenced)
		}
		if !secure && overflows == 0 {
			t.Fatal("insecure, every forged fence was recorded; want those over MaxFences refused (and L1 off until they expire)")
		}
	})
}
