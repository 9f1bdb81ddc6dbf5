package proxy

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned by calls on a closed Proxy.
var ErrClosed = errors.New("proxy: closed")

// Proxy forwards the connections it accepts on 127.0.0.1 to its targets,
// under the faults set on it. Build one with [New]; Close it when done.
type Proxy struct {
	ln      net.Listener
	targets []string
	up      *gate
	down    *gate

	mu     sync.Mutex // guards links and closed
	links  map[*link]struct{}
	closed bool

	wg sync.WaitGroup // the accept loop and every pump
}

// New starts a proxy on a free port of 127.0.0.1 that forwards to the
// first of targets (host:port, loopback only) that accepts a connection,
// trying them in order for each new connection.
func New(targets ...string) (*Proxy, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("proxy: no target")
	}
	for _, t := range targets {
		host, _, err := net.SplitHostPort(t)
		if err != nil {
			return nil, fmt.Errorf("proxy: target %q: %w", t, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("proxy: target %q is not a loopback address", t)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	p := &Proxy{
		ln: ln, targets: append([]string(nil), targets...),
		up: newGate(1), down: newGate(2), links: make(map[*link]struct{}),
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the address clients connect to, 127.0.0.1:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns the proxy's address as a NATS URL.
func (p *Proxy) URL() string { return "nats://" + p.Addr() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.open(c)
	}
}

// open dials a target for client c and starts pumping.
func (p *Proxy) open(c net.Conn) {
	var s net.Conn
	for _, t := range p.targets {
		var err error
		if s, err = net.DialTimeout("tcp", t, time.Second); err == nil {
			break
		}
	}
	if s == nil {
		_ = c.Close() // no target is up: the client sees its connection refused
		return
	}
	l := &link{client: c, server: s, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.close()
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()
	l.pump(&p.wg, p.up, c, s)
	l.pump(&p.wg, p.down, s, c)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		<-l.done
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
}

// Cut stops the bytes of the directions in d until Heal (a one-way cut
// with Up or Down, a partition with Both). With drop it also closes every
// open connection.
func (p *Proxy) Cut(d Direction, drop bool) error {
	if err := p.check(); err != nil {
		return err
	}
	if d&Up != 0 {
		p.up.setCut(true)
	}
	if d&Down != 0 {
		p.down.setCut(true)
	}
	if drop {
		p.Drop()
	}
	return nil
}

// Drop closes every open connection; new ones are accepted as usual.
func (p *Proxy) Drop() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}

// Latency delays every chunk in the directions of d by base plus a uniform
// random part below jitter, keeping each stream's order.
func (p *Proxy) Latency(d Direction, base, jitter time.Duration) error {
	if err := p.check(); err != nil {
		return err
	}
	if base < 0 || jitter < 0 {
		return fmt.Errorf("proxy: negative latency %v or jitter %v", base, jitter)
	}
	if d&Up != 0 {
		p.up.setLatency(base, jitter)
	}
	if d&Down != 0 {
		p.down.setLatency(base, jitter)
	}
	return nil
}

// Heal ends every cut and latency; held bytes flow again.
func (p *Proxy) Heal() {
	for _, g := range []*gate{p.up, p.down} {
		g.setLatency(0, 0)
		g.setCut(false)
	}
}

func (p *Proxy) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	return nil
}

// Stats are a proxy's counters.
type Stats struct {
	// Conns is the number of open connections.
	Conns int
	// HeldUp and HeldDown count the chunks waiting at a cut now.
	HeldUp, HeldDown int
	// BytesUp and BytesDown count the bytes delivered.
	BytesUp, BytesDown uint64
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	var s Stats
	p.mu.Lock()
	s.Conns = len(p.links)
	p.mu.Unlock()
	s.HeldUp, s.BytesUp = p.up.stats()
	s.HeldDown, s.BytesDown = p.down.stats()
	return s
}

// Close stops accepting, closes every connection and waits for every
// goroutine of the proxy. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if !already {
		_ = p.ln.Close()
		p.Drop()
	}
	p.wg.Wait()
	return nil
}
