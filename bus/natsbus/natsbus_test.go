package natsbus_test

import (
	"crypto/tls"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/bustest"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/chaos/proxy"
	"github.com/warpcache/warp/internal/natstest"
)

func TestContract(t *testing.T) {
	srv := natstest.Start(t, nil)
	bustest.Run(t, func(t *testing.T) func() bus.Transport {
		return func() bus.Transport {
			tr, err := natsbus.Dial(srv.URL(), natsbus.Options{})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			return tr
		}
	})
}

func TestContractFromConn(t *testing.T) {
	srv := natstest.Start(t, nil)
	bustest.Run(t, func(t *testing.T) func() bus.Transport {
		return func() bus.Transport {
			nc, err := nats.Connect(srv.URL())
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			t.Cleanup(nc.Close)
			tr, err := natsbus.FromConn(nc, natsbus.Options{})
			if err != nil {
				t.Fatalf("FromConn: %v", err)
			}
			return tr
		}
	})
}

// The contract holds over an in-process pipe too.
func TestContractInProcess(t *testing.T) {
	srv := natstest.Start(t, nil)
	bustest.Run(t, func(t *testing.T) func() bus.Transport {
		return func() bus.Transport {
			tr, err := natsbus.Dial(srv.URL(), natsbus.Options{InProcess: srv})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			if got := tr.Conn().ConnectedAddr(); got != "pipe" {
				t.Fatalf("connected to %q; want a pipe", got)
			}
			return tr
		}
	})
}

// Both servers the docs name can be given as Options.InProcess.
var (
	_ nats.InProcessConnProvider = (*natsbus.Server)(nil)
	_ nats.InProcessConnProvider = (*server.Server)(nil)
)

// Options.InProcess connects through a pipe, not a socket; it is refused
// with TLS settings, and an embedded server that is down gives no pipe.
func TestInProcess(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	for _, tc := range []struct {
		opts natsbus.Options
		want string
	}{{natsbus.Options{}, "127.0.0.1:"}, {natsbus.Options{InProcess: srv}, "pipe"}} {
		tr, err := natsbus.Dial(srv.URL(), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Conn().ConnectedAddr(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("InProcess %v: connected to %q; want %q", tc.opts.InProcess != nil, got, tc.want)
		}
		_ = tr.Close()
	}
	var none *natsbus.Server
	for _, tc := range []struct {
		url  string
		opts natsbus.Options
	}{
		{srv.URL(), natsbus.Options{CAFile: "ca.pem", InProcess: srv}},
		{srv.URL(), natsbus.Options{CertFile: "c.pem", KeyFile: "k.pem", InProcess: srv}},
		{srv.URL(), natsbus.Options{TLSConfig: &tls.Config{}, InProcess: srv}},
		{"nats://127.0.0.1:1, TLS://" + strings.TrimPrefix(srv.URL(), "nats://"), natsbus.Options{InProcess: srv}},
		{srv.URL(), natsbus.Options{InProcess: none}}, // a nil *Server in the interface
	} {
		if _, err := natsbus.Dial(tc.url, tc.opts); !errors.Is(err, bus.ErrInvalid) || !strings.Contains(err.Error(), "InProcess") {
			t.Errorf("Dial(%q, %+v): got %v; want ErrInvalid naming InProcess", tc.url, tc.opts, err)
		}
	}
	// Credentials, for a connection of the caller's own, takes the pipe
	// too, and refuses what Dial refuses.
	copts, err := natsbus.Options{InProcess: srv}.Credentials(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.URL(), copts...)
	if err != nil {
		t.Fatal(err)
	}
	if got := nc.ConnectedAddr(); got != "pipe" {
		t.Errorf("a connection with Credentials' options reached %q; want a pipe", got)
	}
	nc.Close()
	for _, o := range []natsbus.Options{{InProcess: none}, {InProcess: srv, CAFile: "ca.pem"}} {
		if _, err := o.Credentials(srv.URL()); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("Credentials(%+v): got %v; want ErrInvalid", o, err)
		}
	}
	if _, err := none.InProcessConn(); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("InProcessConn on a nil *Server: got %v; want ErrInvalid", err)
	}
	// A pipe is no way around the server's authentication. A refused
	// credential deadlocks the handshake unless the server read all of it
	// first; a write's Timeout ends it, with an i/o timeout (the server's
	// write deadline, 60 s here, would end it much later), or the server
	// closes the pipe. The bound is a hang guard, ten times the two write
	// timeouts the dial may take.
	authed := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "warp", Password: "pw"}}
		o.WriteDeadline = time.Minute
	})
	start := time.Now()
	if tr, err := natsbus.Dial(authed.URL(), natsbus.Options{InProcess: authed, Timeout: 300 * time.Millisecond}); !errors.Is(err, bus.ErrTransport) || !strings.Contains(err.Error(), "i/o timeout") && !strings.Contains(err.Error(), "closed pipe") {
		if err == nil {
			_ = tr.Close()
		}
		t.Errorf("InProcess without credentials: got %v; want ErrTransport, an i/o timeout or a closed pipe (a server that requires them)", err)
	}
	if el := time.Since(start); el > 6*time.Second {
		t.Errorf("the refused dial took %v: Timeout (300ms) did not bound it", el)
	}
	tr, err := natsbus.Dial(authed.URL(), natsbus.Options{InProcess: authed, User: "warp", Password: "pw"})
	if err != nil {
		t.Fatalf("InProcess with credentials: %v", err)
	}
	_ = tr.Close()
	srv.Shutdown()
	if c, err := srv.InProcessConn(); !errors.Is(err, bus.ErrTransport) {
		if c != nil {
			_ = c.Close()
		}
		t.Errorf("InProcessConn on a server that is down: got %v; want ErrTransport", err)
	}
}

func TestOpenRejectsBadTokens(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	for _, tc := range []struct{ cluster, node string }{{"a.b", "n"}, {"c", "n*"}, {"c", "x y"}, {"c>", "n"}} {
		tr, err := natsbus.Dial(srv.URL(), natsbus.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Open(tc.cluster, tc.node, bus.HandlerFuncs{}); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("Open(%q, %q): got %v; want ErrInvalid", tc.cluster, tc.node, err)
		}
		_ = tr.Close()
	}
}

// A server restart is reported as Disconnected then Reconnected, and the
// subscriptions work again afterwards, over TCP and over an in-process
// pipe (which the restarted server hands out anew).
func TestRestartReportsStates(t *testing.T) {
	t.Parallel()
	for _, inProcess := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "in-process"}[inProcess], func(t *testing.T) {
			t.Parallel()
			restartReportsStates(t, inProcess)
		})
	}
}

func restartReportsStates(t *testing.T, inProcess bool) {
	srv := natstest.Start(t, nil)
	opts := natsbus.Options{ReconnectWait: 20 * time.Millisecond}
	if inProcess {
		opts.InProcess = srv
	}
	states := make(chan bus.State, 16)
	msgs := make(chan string, 16)
	h := bus.HandlerFuncs{
		Message: func(m []byte) { msgs <- string(m) },
		State:   func(s bus.State) { states <- s },
	}
	var trs []*natsbus.Transport
	for _, id := range []string{"a", "b"} {
		tr, err := natsbus.Dial(srv.URL(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		hh := bus.Handler(bus.HandlerFuncs{})
		if id == "b" {
			hh = h
		}
		if err := tr.Open("c", id, hh); err != nil {
			t.Fatal(err)
		}
		trs = append(trs, tr)
	}
	if err := srv.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	for _, want := range []bus.State{bus.Disconnected, bus.Reconnected} {
		select {
		case got := <-states:
			if got != want {
				t.Fatalf("got state %v; want %v", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v state", want)
		}
	}
	// The sender may reconnect after the receiver: retry, bounded.
	deadline := time.After(10 * time.Second)
	for {
		if err := trs[0].Send("b", []byte("back")); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-msgs:
			if m != "back" {
				t.Fatalf("got %q; want back", m)
			}
			if inProcess {
				for _, tr := range trs {
					if got := tr.Conn().ConnectedAddr(); got != "pipe" {
						t.Errorf("after the restart: connected to %q; want a pipe", got)
					}
				}
			}
			return
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("no message after the restart")
		}
	}
}

// A dialed connection does not get its own broadcasts back from the server
// (NoEcho): with n nodes that saves a 1/n share of every delivery.
func TestDialSkipsOwnBroadcasts(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	a, err := natsbus.Dial(srv.URL(), natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := natsbus.Dial(srv.URL(), natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := make(chan string, 4)
	if err := a.Open("c", "a", bus.HandlerFuncs{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Open("c", "b", bus.HandlerFuncs{Message: func(m []byte) { got <- string(m) }}); err != nil {
		t.Fatal(err)
	}
	before := a.Conn().Stats().InMsgs
	if err := a.Broadcast([]byte("x")); err != nil {
		t.Fatal(err)
	}
	// The server answers the flush's PING after it has routed "x": an echo
	// would have reached a's connection by the time Flush returns.
	if err := a.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if n := a.Conn().Stats().InMsgs - before; n != 0 {
		t.Errorf("the sender got %d of its own messages back", n)
	}
	select {
	case m := <-got:
		if m != "x" {
			t.Errorf("peer got %q; want x", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the peer did not get the broadcast")
	}
}

// When the server starts refusing the connection's credential (rotated on
// a restart), nats.go gives up over TCP after the authorization errors,
// but over a pipe the refusal shows as an i/o error, and it keeps trying
// (docs/syncbus.md).
func TestRefusedCredentialAfterRestart(t *testing.T) {
	t.Parallel()
	var password atomic.Value
	password.Store("pw")
	srv := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "warp", Password: password.Load().(string)}}
	})
	dial := func(inProcess bool) *natsbus.Transport {
		o := natsbus.Options{User: "warp", Password: "pw", ReconnectWait: 20 * time.Millisecond, Timeout: 200 * time.Millisecond}
		if inProcess {
			o.InProcess = srv
		}
		tr, err := natsbus.Dial(srv.URL(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}
	overTCP, overPipe := dial(false), dial(true)
	password.Store("rotated")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !overTCP.Conn().IsClosed() {
		if time.Now().After(deadline) {
			t.Fatalf("over TCP: still %v after 30 s of refused reconnects; want closed", overTCP.Conn().Status())
		}
		time.Sleep(10 * time.Millisecond) // polling a connection's state, bounded above
	}
	// The pipe's connection has by now been refused as often as TCP's,
	// and goes on trying (nats.go counts each new pipe as a reconnect).
	before := overPipe.Conn().Stats().Reconnects
	time.Sleep(time.Second) // several more attempts (ReconnectWait 20 ms, Timeout 200 ms)
	if st := overPipe.Conn().Status(); st != nats.RECONNECTING {
		t.Errorf("over a pipe: %v after the refusals; want still reconnecting", st)
	}
	if after := overPipe.Conn().Stats().Reconnects; after <= before {
		t.Errorf("over a pipe: %d attempts in the last second; want it still trying", after-before)
	}
}

// A subscription over its pending limits drops what it received (nats.go's
// slow consumer); the transport reports it as bus.Dropped, through Dial's
// connection and through one FromConn shares, so that the bus repairs.
func TestSlowConsumerReportsDropped(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	opts := natsbus.Options{PendingMsgs: 4, PendingBytes: 1 << 20}
	dial := func(t *testing.T) *natsbus.Transport {
		tr, err := natsbus.Dial(srv.URL(), opts)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	fromConn := func(t *testing.T) *natsbus.Transport {
		nc, err := nats.Connect(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		tr, err := natsbus.FromConn(nc, opts)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	for name, open := range map[string]func(*testing.T) *natsbus.Transport{"Dial": dial, "FromConn": fromConn} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tr := open(t)
			t.Cleanup(func() { _ = tr.Close() })
			states := make(chan bus.State, 16)
			release := make(chan struct{})
			var once sync.Once
			h := bus.HandlerFuncs{
				Message: func([]byte) { <-release }, // a receiver that does not keep up
				State:   func(s bus.State) { states <- s },
			}
			if err := tr.Open("c", "slow", h); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { once.Do(func() { close(release) }) })
			sender := dial(t)
			t.Cleanup(func() { _ = sender.Close() })
			if err := sender.Open("c", "fast", bus.HandlerFuncs{}); err != nil {
				t.Fatal(err)
			}
			for range 64 {
				if err := sender.Broadcast([]byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case s := <-states:
				if s != bus.Dropped {
					t.Fatalf("got state %v; want %v", s, bus.Dropped)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no state reported after the subscription went over its pending limits")
			}
			once.Do(func() { close(release) })
		})
	}
}

// TestStalledServerBoundsBroadcast: a server that stops reading (a link
// whose far end holds the bytes: the proxy's cut) fills the socket, and a
// Broadcast then writes to it directly. Timeout bounds that write: the
// connection is dropped and reconnects, so Broadcast returns. nats.go's
// own bound is a minute, for which the bus actor calling it, and every
// strong write behind it, would wait.
func TestStalledServerBoundsBroadcast(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	p, err := proxy.New(strings.TrimPrefix(srv.URL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	tr, err := natsbus.Dial(p.URL(), natsbus.Options{Timeout: 200 * time.Millisecond, ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	states := make(chan bus.State, 64)
	if err := tr.Open("c", "stalled", bus.HandlerFuncs{State: func(s bus.State) {
		select {
		case states <- s:
		default:
		}
	}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Cut(proxy.Up, false); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		msg := make([]byte, 64<<10)
		// Enough to fill the socket's and the proxy's buffers many times
		// over; each call returns once the write is bounded.
		for range 2000 {
			_ = tr.Broadcast(msg)
			select {
			case s := <-states:
				if s == bus.Disconnected {
					return
				}
			default:
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.Heal()
		<-done
		t.Fatal("Broadcast to a server that stopped reading still blocks after 20 s; want its write bounded by Timeout (200ms)")
	}
	p.Heal()
}

// TestFromConnLetsGoOfItsHandler: a transport on a connection that outlives
// it (FromConn) chains its handlers onto the connection's, and they stay
// there; once the transport is closed they must not keep its bus handler
// (and the bus and cache behind it) reachable. Three instances replaced on
// one connection used to stay in memory.
func TestFromConnLetsGoOfItsHandler(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	tr, err := natsbus.FromConn(nc, natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	held := openHolding(t, tr)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		runtime.GC()
		if held.Value() == nil {
			break
		}
	}
	if held.Value() != nil {
		t.Fatal("a closed FromConn transport's handler is still reachable through the connection")
	}
	if err := tr.Open("c", "n", bus.HandlerFuncs{}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Open after Close = %v; want bus.ErrClosed", err)
	}
	runtime.KeepAlive(tr)
}

// openHolding opens tr with a handler that holds a value of its own (as a
// bus handler holds the bus and the cache behind it), and returns a weak
// pointer to that value.
func openHolding(t *testing.T, tr *natsbus.Transport) weak.Pointer[[1 << 20]byte] {
	t.Helper()
	payload := new([1 << 20]byte)
	if err := tr.Open("c", "n", bus.HandlerFuncs{State: func(bus.State) { _ = payload[0] }}); err != nil {
		t.Fatal(err)
	}
	return weak.Make(payload)
}

// TestSendRefusesNodesThatAreNoToken: a reply goes to the origin a message
// named, which a forged message may set to anything; a node id that is
// not a subject token (Open refuses such an id for a node of its own) is
// refused, not published to a subject of wildcards or another depth.
func TestSendRefusesNodesThatAreNoToken(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	tr, err := natsbus.Dial(srv.URL(), natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	if err := tr.Open("c", "n", bus.HandlerFuncs{}); err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"", "*", ">", "a.b", "a b"} {
		if err := tr.Send(node, []byte("x")); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("Send to node %q = %v; want bus.ErrInvalid", node, err)
		}
	}
	if err := tr.Send("m", []byte("x")); err != nil {
		t.Fatalf("Send to node m = %v", err)
	}
}
