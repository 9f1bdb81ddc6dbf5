package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/natstest"
	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// gateStore holds a Set that the test armed until it is let through.
type gateStore[T any] struct {
	*memory.Store[T]
	armed   chan struct{} // a token arms the next Set or Delete
	entered chan struct{} // the armed Set is waiting
	open    chan struct{} // lets it through
}

func (s gateStore[T]) Set(ctx context.Context, key string, v T, wr store.Write) (merge.Version, error) {
	s.wait()
	return s.Store.Set(ctx, key, v, wr)
}

func (s gateStore[T]) Delete(ctx context.Context, key string, wr store.Write) (merge.Version, error) {
	s.wait()
	return s.Store.Delete(ctx, key, wr)
}

func (s gateStore[T]) Commit(ctx context.Context, ops []store.Op[T]) ([]merge.Version, error) {
	s.wait()
	return s.Store.Commit(ctx, ops)
}

// wait holds an armed write until open.
func (s gateStore[T]) wait() {
	select {
	case <-s.armed:
		s.entered <- struct{}{}
		<-s.open
	default:
	}
}

// A distributed write held up between its fence and its store write (a
// pause, a slow link) while its node falls out of the membership never
// lands: the store checks the writer's membership with the write, refuses
// it, and Set fails with ErrQuorum, the store untouched. Without the
// guard, the write would land after the others stopped waiting for this
// node. Every guarded path is tried: strong and eventual, plain and merged.
func TestZombieStrongWriteRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mode   Mode
		merged bool
		op     string
	}{
		{"strong", ModeStrongDistributed, false, "set"},
		{"strong-merged", ModeStrongDistributed, true, "set"},
		{"strong-delete", ModeStrongDistributed, false, "delete"},
		{"eventual", ModeEventualDistributed, false, "set"},
		{"eventual-merged", ModeEventualDistributed, true, "set"},
		{"eventual-delete", ModeEventualDistributed, false, "delete"},
		{"strong-commit", ModeStrongDistributed, false, "commit"},
		{"eventual-commit", ModeEventualDistributed, false, "commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			zombieWriteRefused(t, tc.name, tc.mode, tc.merged, tc.op)
		})
	}
}

func zombieWriteRefused(t *testing.T, cluster string, mode Mode, merged bool, op string) {
	ctx := context.Background()
	mem := memory.New[string](memory.Options{})
	gate := gateStore[string]{Store: mem, armed: make(chan struct{}, 1), entered: make(chan struct{}), open: make(chan struct{})}
	hub := inproc.NewHub()
	var nodes []*Warp[string]
	for i, s := range []store.Store[string]{gate, mem} {
		w, err := New[string](s,
			WithNodeConfig[string](actors.Config{ID: []string{"z0", "z1"}[i]}),
			WithBus[string](bus.Config{Cluster: cluster, Transport: hub.Transport(),
				HeartbeatInterval: 20 * time.Millisecond, LeaseDuration: 100 * time.Millisecond,
				MemberLease: 400 * time.Millisecond, StrongTimeout: 3 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		if merged {
			// Last writer wins, through the merge path's compare-and-swap.
			if err := w.engine.Register("s:*", func(_ string, _ bool, in string) (string, error) { return in, nil }); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Register("s:*", mode, time.Hour); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, w)
	}
	waitFor(t, 10*time.Second, "both leases", func() bool { return nodes[0].Bus().LeaseValid() && nodes[1].Bus().LeaseValid() })
	if err := nodes[0].Set(ctx, "s:1", "old"); err != nil {
		t.Fatal(err)
	}
	gate.armed <- struct{}{}
	done := make(chan error, 1)
	go func() {
		switch op {
		case "delete":
			done <- nodes[0].deleteWrite(ctx, "s:1", store.Write{}) // what DeleteFenced runs
		case "commit":
			txn := nodes[0].Txn(ctx)
			txn.Set("s:1", "zombie")
			done <- txn.Commit()
		default:
			done <- nodes[0].Set(ctx, "s:1", "zombie")
		}
	}()
	<-gate.entered // fenced everywhere (strong); the store write waits
	epoch, _ := nodes[0].Bus().Member()
	if err := mem.Leave(ctx, cluster, "z0", epoch); err != nil { // z0 is out, as an expulsion would put it
		t.Fatal(err)
	}
	close(gate.open)
	err := <-done
	if !errors.Is(err, ErrQuorum) || !errors.Is(err, store.ErrNotMember) {
		t.Fatalf("the held-up write: got %v; want ErrQuorum wrapping store.ErrNotMember", err)
	}
	if n := strings.Count(err.Error(), ErrQuorum.Error()); n != 1 {
		t.Errorf("the held-up %s's error %q says ErrQuorum %d times; want once", op, err, n)
	}
	for o, text := range map[string]string{"set": `set "s:1"`, "delete": `delete "s:1"`, "commit": "commit: "} {
		if (o == op) != strings.Contains(err.Error(), text) {
			t.Errorf("the held-up %s's error %q: names %s %v; want %v", op, err, o, o != op, o == op)
		}
	}
	if it, err := mem.Get(ctx, "s:1"); err != nil || it.Value != "old" {
		t.Fatalf("store holds %q, %v after the refused write; want old", it.Value, err)
	}
}

// bareStore hides its store's optional capabilities, Membership among
// them: a store of someone else's that keeps no membership.
type bareStore[T any] struct{ store.Store[T] }

// On a bus without a membership service, StrongDistributed registrations
// fail with ErrConfig saying why; eventual ones work.
func TestStrongNeedsMembership(t *testing.T) {
	t.Parallel()
	w, err := New[string](bareStore[string]{memory.New[string](memory.Options{})},
		WithBus[string](bus.Config{Cluster: "bare", Transport: inproc.NewHub().Transport()}))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Register("s:*", ModeStrongDistributed, time.Hour); !errors.Is(err, ErrConfig) {
		t.Fatalf("strong registration without membership: got %v; want ErrConfig", err)
	}
	if err := w.Register("e:*", ModeEventualDistributed, time.Hour); err != nil {
		t.Fatalf("eventual registration without membership: %v", err)
	}
}

// A bus with a clock of its own is refused with ErrConfig: a hit checks
// the bus's lease against the node's monotonic clock, and a bus measuring
// leases on another clock would make that check wrong, a lease that looks
// longer than it is included.
func TestBusClockRefused(t *testing.T) {
	t.Parallel()
	_, err := New[string](memory.New[string](memory.Options{}),
		WithBus[string](bus.Config{Cluster: "clock", Transport: inproc.NewHub().Transport(), Now: time.Now}))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "Now") {
		t.Fatalf("a bus with its own clock: got %v; want ErrConfig naming Now", err)
	}
}

// A bus over NATS without the cluster's key refuses to start: api.New
// fails with ErrConfig saying so (Insecure is the explicit way out).
func TestNATSBusWithoutKeyRefused(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	tr, err := natsbus.Dial(srv.URL(), natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New[string](memory.New[string](memory.Options{}), WithBus[string](bus.Config{Cluster: "nokey", Transport: tr}))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "Keys") {
		t.Fatalf("a NATS bus without a key: got %v; want ErrConfig naming Keys", err)
	}
	_ = tr.Close()
}

// A strong write's store write, ending writeBound after it began on this
// node's clock, ends within the grace period a peer that missed its fence
// keeps on its own clock, whatever the two clocks' rates within
// MaxClockDrift: the bound measured on the slowest clock against the
// grace on the fastest, with LeaseMargin to spare, and a lease after
// that. Defaults and a custom configuration alike.
func TestWriteBoundWithinGrace(t *testing.T) {
	t.Parallel()
	for _, cfg := range []bus.Config{{}, {StrongTimeout: 300 * time.Millisecond, MaxClockDrift: 0.1, LeaseMargin: 50 * time.Millisecond}} {
		c := cfg.WithDefaults()
		grace := graceFor(c)
		wb := writeBound(c)
		ρ := c.MaxClockDrift
		// This node's clock runs fast by ρ, the peer's slow by ρ: wb here
		// is at most wb·(1+ρ)/(1−ρ) there.
		if there := time.Duration(float64(wb)*(1+ρ)/(1-ρ)) + c.LeaseMargin; wb <= 0 || there > grace {
			t.Fatalf("%+v: write bound %v lasts up to %v on a peer's clock, margin included; want ≤ the grace %v", cfg, wb, there, grace)
		}
		// And a lease after it: one the peer holds once the grace is over
		// rests on answers given after every write that began before its
		// flush gave up (and its writer stopped lending leases if the
		// write's outcome was left open).
		there := time.Duration(float64(wb)*(1+ρ)/(1-ρ)) + c.LeaseMargin + time.Duration(float64(c.LeaseDuration)*(1+ρ)/(1-ρ))
		if there > grace {
			t.Fatalf("%+v: write bound and a lease last up to %v on a peer's clock; want ≤ the grace %v", cfg, there, grace)
		}
	}
}

// cutStore is a store whose membership calls fail once cut: the node's
// membership lease then runs out and stays out.
type cutStore[T any] struct {
	*memory.Store[T]
	cut *atomic.Bool
}

func (s cutStore[T]) Join(ctx context.Context, cluster, node string, min uint64) (uint64, error) {
	if s.cut.Load() {
		return 0, errors.New("cut off")
	}
	return s.Store.Join(ctx, cluster, node, min)
}

func (s cutStore[T]) Renew(ctx context.Context, cluster, node string, incarnation uint64) ([]store.Member, error) {
	if s.cut.Load() {
		return nil, errors.New("cut off")
	}
	return s.Store.Renew(ctx, cluster, node, incarnation)
}

// A node that is not a member now refuses its distributed writes before
// the store, with ErrQuorum naming the operation it refused: set, delete,
// or a transaction's commit.
func TestNotMemberNamesTheOperation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cut := new(atomic.Bool)
	w := newWarp[string](t, cutStore[string]{Store: memory.New[string](memory.Options{}), cut: cut},
		WithNodeConfig[string](actors.Config{ID: "m0"}),
		WithBus[string](bus.Config{Cluster: "names", Transport: inproc.NewHub().Transport(),
			HeartbeatInterval: 20 * time.Millisecond, LeaseDuration: 100 * time.Millisecond,
			MemberLease: 400 * time.Millisecond}))
	for p, m := range map[string]Mode{"e:*": ModeEventualDistributed, "s:*": ModeStrongDistributed} {
		if err := w.Register(p, m, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "membership", func() bool { _, ok := w.Bus().Member(); return ok })
	cut.Store(true)
	waitFor(t, 10*time.Second, "the membership to lapse", func() bool { _, ok := w.Bus().Member(); return !ok })
	for _, key := range []string{"e:1", "s:1"} {
		for op, write := range map[string]func() error{
			"set":    func() error { return w.Set(ctx, key, "v") },
			"delete": func() error { return w.deleteWrite(ctx, key, store.Write{}) },
			"commit": func() error { txn := w.Txn(ctx); txn.Set(key, "v"); return txn.Commit() },
		} {
			err := write()
			if !errors.Is(err, ErrQuorum) || !strings.Contains(err.Error(), fmt.Sprintf("%s %q", op, key)) {
				t.Errorf("%s %s by a node out of the membership: got %v; want ErrQuorum naming %s %q", op, key, err, op, key)
			}
		}
	}
}
