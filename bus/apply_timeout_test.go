package bus_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/merge"
)

// An Applier call that never returns on its own is cut off by its
// context between ApplyTimeout/2 and ApplyTimeout after it starts, and
// reported as ErrApply.
func TestApplyTimeoutBoundsApplierCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		discard := slog.New(slog.NewTextHandler(io.Discard, nil))
		sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }))
		defer sys.Shutdown()
		hub := inproc.NewHub()
		members := bustest.NewMembership()
		const timeout = 4 * time.Second
		started := make(chan time.Time, 8)
		ended := make(chan time.Time, 8)
		stuck := bus.ApplierFuncs{InvalidateFunc: func(ctx context.Context, key string, _ merge.Version) error {
			if key != "stuck" {
				return nil
			}
			started <- time.Now()
			<-ctx.Done()
			ended <- time.Now()
			return ctx.Err()
		}}
		var buses []*bus.Bus
		for i, app := range []bus.Applier{bus.ApplierFuncs{}, stuck} {
			c := fastConfig("apply-timeout", []string{"w", "r"}[i], hub.Transport(), app, members)
			c.ApplyTimeout = timeout
			b, err := bus.New(sys, c)
			if err != nil {
				t.Fatal(err)
			}
			buses = append(buses, b)
		}
		// Let a first call create the shared context, then age it.
		buses[0].Publish("warm", 1)
		synctest.Wait()
		time.Sleep(timeout / 4)
		buses[0].Publish("stuck", 2)
		t0 := <-started
		t1 := <-ended
		if d := t1.Sub(t0); d < timeout/2 || d > timeout {
			t.Errorf("the stuck call ran %v; want between ApplyTimeout/2 and ApplyTimeout (%v)", d, timeout)
		}
		select {
		case err := <-buses[1].Errors():
			if !errors.Is(err, bus.ErrApply) {
				t.Errorf("reported %v; want ErrApply", err)
			}
		case <-time.After(time.Second):
			t.Error("the cut-off call was not reported")
		}
		for _, b := range buses {
			_ = b.Close()
		}
	})
}

// hangingRenewals is a membership whose renewals, once armed, wait for
// their context to end, as a hung store's would.
type hangingRenewals struct {
	bus.Membership
	armed chan struct{} // closed: renewals hang
}

func (m hangingRenewals) Renew(ctx context.Context, node string, epoch uint64) ([]bus.Member, error) {
	select {
	case <-m.armed:
		<-ctx.Done()
		return nil, ctx.Err()
	default:
		return m.Membership.Renew(ctx, node, epoch)
	}
}

// Close does not wait for a membership call in flight on a hung store to
// run to its bound (MemberLease): it ends it at once.
func TestCloseEndsAHungRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		discard := slog.New(slog.NewTextHandler(io.Discard, nil))
		sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }))
		defer sys.Shutdown()
		m := hangingRenewals{Membership: bustest.NewMembership(), armed: make(chan struct{})}
		c := fastConfig("close-hung-renewal", "a", inproc.NewHub().Transport(), bus.ApplierFuncs{}, m)
		c.MemberLease = 2 * time.Second
		b, err := bus.New(sys, c)
		if err != nil {
			t.Fatal(err)
		}
		close(m.armed)
		time.Sleep(c.MemberLease) // a renewal is due, and hangs
		synctest.Wait()
		start := time.Now()
		_ = b.Close()
		if took := time.Since(start); took != 0 {
			t.Fatalf("Close took %v with a renewal hung on the store; want at once", took)
		}
	})
}
