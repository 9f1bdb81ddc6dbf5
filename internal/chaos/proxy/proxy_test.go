package proxy_test

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/internal/chaos/proxy"
	"github.com/warpcache/warp/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// upstream is a test server: it greets each connection with "hello\n",
// echoes what it reads and counts the bytes it received.
type upstream struct {
	ln       net.Listener
	received atomic.Int64
	mu       sync.Mutex // guards conns
	conns    []net.Conn
	wg       sync.WaitGroup
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns = append(u.conns, c)
			u.mu.Unlock()
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				_, _ = c.Write([]byte("hello\n"))
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					u.received.Add(int64(n))
					if n > 0 {
						_, _ = c.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		u.mu.Lock()
		for _, c := range u.conns {
			_ = c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

// push writes msg to every connection the upstream holds.
func (u *upstream) push(msg string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range u.conns {
		_, _ = c.Write([]byte(msg))
	}
}

func newProxy(t *testing.T, targets ...string) *proxy.Proxy {
	t.Helper()
	p, err := proxy.New(targets...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// client is a connection through the proxy, greeted already.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, p *proxy.Proxy) *client {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	cl := &client{t: t, c: c, r: bufio.NewReader(c)}
	cl.expect("hello")
	return cl
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s + "\n")); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads one line, bounded by 5 s.
func (c *client) expect(want string) {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := c.r.ReadString('\n')
	if got := strings.TrimSuffix(line, "\n"); err != nil || got != want {
		c.t.Fatalf("read %q, %v; want %q", got, err, want)
	}
}

// waitFor polls cond on real time until it holds, bounded.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		<-time.After(time.Millisecond)
	}
}

func TestForwards(t *testing.T) {
	t.Parallel()
	u := newUpstream(t)
	c := dial(t, newProxy(t, u.ln.Addr().String()))
	c.send("ping")
	c.expect("ping")
}

func TestCutBothHoldsUntilHeal(t *testing.T) {
	t.Parallel()
	u := newUpstream(t)
	p := newProxy(t, u.ln.Addr().String())
	c := dial(t, p)
	if err := p.Cut(proxy.Both, false); err != nil {
		t.Fatal(err)
	}
	c.send("a")
	waitFor(t, "the chunk held at the cut", func() bool { return p.Stats().HeldUp == 1 })
	if got := u.received.Load(); got != 0 {
		t.Fatalf("upstream received %d bytes through a cut; want 0", got)
	}
	u.push("tick\n")
	waitFor(t, "the push held at the cut", func() bool { return p.Stats().HeldDown == 1 })
	p.Heal()
	c.expect("tick")
	c.expect("a")
}

func TestOneWayCuts(t *testing.T) {
	t.Parallel()
	t.Run("up", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t)
		p := newProxy(t, u.ln.Addr().String())
		c := dial(t, p)
		if err := p.Cut(proxy.Up, false); err != nil {
			t.Fatal(err)
		}
		c.send("x")
		waitFor(t, "the chunk held at the cut", func() bool { return p.Stats().HeldUp == 1 })
		u.push("tick\n")
		c.expect("tick") // down still flows
		if got := u.received.Load(); got != 0 {
			t.Fatalf("upstream received %d bytes through an up cut; want 0", got)
		}
		p.Heal()
		c.expect("x")
	})
	t.Run("down", func(t *testing.T) {
		t.Parallel()
		u := newUpstream(t)
		p := newProxy(t, u.ln.Addr().String())
		c := dial(t, p)
		if err := p.Cut(proxy.Down, false); err != nil {
			t.Fatal(err)
		}
		c.send("y")
		waitFor(t, "the upstream to receive through a down cut", func() bool { return u.received.Load() == 2 })
		waitFor(t, "the echo held at the cut", func() bool { return p.Stats().HeldDown == 1 })
		p.Heal()
		c.expect("y")
	})
}

func TestLatency(t *testing.T) {
	t.Parallel()
	u := newUpstream(t)
	p := newProxy(t, u.ln.Addr().String())
	c := dial(t, p)
	const base, jitter = 20 * time.Millisecond, 10 * time.Millisecond
	if err := p.Latency(proxy.Both, base, jitter); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		start := time.Now()
		c.send("z")
		c.expect("z")
		if d := time.Since(start); d < 2*base {
			t.Fatalf("round trip %d took %v; want at least %v (twice the base latency)", i, d, 2*base)
		}
	}
	p.Heal()
	if s := p.Stats(); s.BytesUp == 0 || s.BytesDown == 0 {
		t.Fatalf("stats %+v; want bytes counted both ways", s)
	}
	if err := p.Latency(proxy.Up, -time.Second, 0); err == nil {
		t.Fatal("negative latency accepted; want an error")
	}
}

func TestDropClosesConnections(t *testing.T) {
	t.Parallel()
	u := newUpstream(t)
	p := newProxy(t, u.ln.Addr().String())
	c := dial(t, p)
	if err := p.Cut(proxy.Both, true); err != nil {
		t.Fatal(err)
	}
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ne net.Error
	if _, err := c.r.ReadByte(); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read after drop: %v; want the connection closed", err)
	}
	waitFor(t, "no open connection", func() bool { return p.Stats().Conns == 0 })
	p.Heal()
	c2 := dial(t, p) // new connections work after the heal
	c2.send("again")
	c2.expect("again")
}

func TestTargetsInOrder(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more
	u := newUpstream(t)
	c := dial(t, newProxy(t, dead, u.ln.Addr().String()))
	c.send("fallback")
	c.expect("fallback")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, targets := range [][]string{nil, {"10.0.0.1:4222"}, {"no-port"}} {
		if p, err := proxy.New(targets...); err == nil {
			_ = p.Close()
			t.Errorf("New(%q) succeeded; want an error", targets)
		}
	}
	u := newUpstream(t)
	p := newProxy(t, u.ln.Addr().String())
	_ = p.Close()
	if err := p.Cut(proxy.Both, false); !errors.Is(err, proxy.ErrClosed) {
		t.Fatalf("Cut after Close: %v; want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v; want nil", err)
	}
}
