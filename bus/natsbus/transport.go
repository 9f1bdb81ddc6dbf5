package natsbus

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus"
)

// Transport is the NATS [bus.Transport]. Build one with [Dial] or
// [FromConn].
type Transport struct {
	nc     *nats.Conn
	owned  bool // Close closes nc
	opts   Options
	closed atomic.Bool
	h      atomic.Pointer[bus.Handler]
	// calls is read-held by every handler call and write-held by Close
	// while it sets closed, so no call starts after Close returns.
	calls sync.RWMutex

	bcast, inboxPrefix string
	mu                 sync.Mutex // guards subs and closeOnce's effects
	subs               []*nats.Subscription
	closeOnce          sync.Once
}

var _ bus.Transport = (*Transport)(nil)

// Dial connects to the NATS server at url (a comma-separated list is
// fine) with opts' reconnect, credential and TLS settings; the transport
// owns the connection. Neither its errors nor its log lines show a
// credential: user info in a URL, a password, a token, or the content of a
// seed or creds file.
func Dial(url string, opts Options) (*Transport, error) {
	t := &Transport{owned: true, opts: opts.withDefaults()}
	red, shown := newRedactor(url, t.opts), redactURLs(url)
	if err := t.opts.checkInProcess(url); err != nil {
		return nil, err
	}
	sec, err := t.opts.securityOptions(hasUserInfo(url))
	if err != nil {
		return nil, err // names fields, never their values
	}
	log := t.opts.Logger
	nopts := append(append(t.opts.natsOptions(), sec...),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("natsbus: disconnected", "err", red.String(err.Error()))
			}
			t.state(bus.Disconnected)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("natsbus: reconnected", "url", red.String(redactURLs(nc.ConnectedUrl())))
			t.state(bus.Reconnected)
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Debug("natsbus: reconnect failed", "err", red.String(err.Error()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("natsbus: asynchronous error", "subject", subject, "err", red.String(err.Error()))
			t.asyncError(sub, err)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Warn("natsbus: connection closed", "err", red.String(err.Error()))
			}
		}),
	)
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: natsbus: connect %s: %w", bus.ErrTransport, red.String(shown), red.Err(err))
	}
	log.Info("natsbus: connected", "url", red.String(redactURLs(nc.ConnectedUrl())))
	t.nc = nc
	return t, nil
}

// FromConn returns a transport on a connection the caller owns and keeps
// configuring (its reconnect settings apply). The transport chains its own
// disconnect and reconnect handlers after the ones nc has; Close only
// unsubscribes. Call FromConn before other goroutines change nc's handlers.
// Connect nc with nats.FlusherTimeout (Dial uses Options.Timeout): without
// it, a server that stops reading blocks a publish, and the bus with it,
// for nats.go's default of a minute.
func FromConn(nc *nats.Conn, opts Options) (*Transport, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: natsbus: nil connection", bus.ErrInvalid)
	}
	t := &Transport{nc: nc, opts: opts.withDefaults()}
	prevDisc, prevRec := nc.Opts.DisconnectedErrCB, nc.Opts.ReconnectedCB
	nc.SetDisconnectErrHandler(func(c *nats.Conn, err error) {
		if prevDisc != nil {
			prevDisc(c, err)
		}
		t.state(bus.Disconnected)
	})
	nc.SetReconnectHandler(func(c *nats.Conn) {
		if prevRec != nil {
			prevRec(c)
		}
		t.state(bus.Reconnected)
	})
	prevErr := nc.Opts.AsyncErrorCB
	nc.SetErrorHandler(func(c *nats.Conn, sub *nats.Subscription, err error) {
		if prevErr != nil {
			prevErr(c, sub, err)
		}
		t.asyncError(sub, err)
	})
	return t, nil
}

// asyncError reports a slow consumer on one of the transport's own
// subscriptions to the bus as Dropped: nats.go dropped messages it
// received, which may include some of a node the bus does not know.
func (t *Transport) asyncError(sub *nats.Subscription, err error) {
	if sub == nil || !errors.Is(err, nats.ErrSlowConsumer) {
		return
	}
	t.mu.Lock()
	ours := slices.Contains(t.subs, sub)
	t.mu.Unlock()
	if ours {
		t.state(bus.Dropped)
	}
}

// Conn returns the underlying connection.
func (t *Transport) Conn() *nats.Conn { return t.nc }

// Open implements [bus.Transport]: it subscribes to the cluster's broadcast
// subject and to node's inbox.
func (t *Transport) Open(cluster, node string, h bus.Handler) error {
	if err := errors.Join(validToken("cluster", cluster), validToken("node id", node)); err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("%w: natsbus: nil handler", bus.ErrInvalid)
	}
	if t.closed.Load() {
		return fmt.Errorf("%w: natsbus: transport closed", bus.ErrClosed)
	}
	if !t.h.CompareAndSwap(nil, &h) {
		return fmt.Errorf("%w: natsbus: opened twice", bus.ErrInvalid)
	}
	base := t.opts.SubjectPrefix + "." + cluster
	t.bcast, t.inboxPrefix = base+".bcast", base+".node."
	deliver := func(m *nats.Msg) {
		t.calls.RLock()
		defer t.calls.RUnlock()
		if !t.closed.Load() {
			h.HandleMessage(m.Data)
		}
	}
	for _, subj := range []string{t.bcast, t.inboxPrefix + node} {
		sub, err := t.nc.Subscribe(subj, deliver)
		if err == nil {
			err = sub.SetPendingLimits(t.opts.PendingMsgs, t.opts.PendingBytes)
		}
		if err != nil {
			t.unsubscribe()
			return fmt.Errorf("%w: natsbus: subscribe %s: %w", bus.ErrTransport, subj, err)
		}
		t.mu.Lock()
		t.subs = append(t.subs, sub)
		t.mu.Unlock()
	}
	if err := t.nc.Flush(); err != nil {
		return fmt.Errorf("%w: natsbus: flush subscriptions: %w", bus.ErrTransport, err)
	}
	return nil
}

// Broadcast implements [bus.Transport].
func (t *Transport) Broadcast(msg []byte) error { return t.publish(t.bcast, msg) }

// Send implements [bus.Transport]. node must be a subject token, as Open
// requires of every node's own id: a reply to the origin a message named
// (a forged one may name "*" or "a.b") is refused rather than published to
// a subject of wildcards or of another depth.
func (t *Transport) Send(node string, msg []byte) error {
	if err := validToken("node id", node); err != nil {
		return err
	}
	return t.publish(t.inboxPrefix+node, msg)
}

func (t *Transport) publish(subj string, msg []byte) error {
	switch {
	case t.closed.Load():
		return fmt.Errorf("%w: natsbus: transport closed", bus.ErrClosed)
	case t.h.Load() == nil:
		return fmt.Errorf("%w: natsbus: transport not open", bus.ErrInvalid)
	}
	if err := t.nc.Publish(subj, msg); err != nil {
		return fmt.Errorf("%w: natsbus: publish %s: %w", bus.ErrTransport, subj, err)
	}
	return nil
}

// Close implements [bus.Transport]: it unsubscribes, waits for running
// handler calls, and closes the connection if [Dial] made it.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.calls.Lock()
		t.closed.Store(true)
		// The handlers chained onto the connection (FromConn: a connection
		// that outlives the transport) keep t, not the bus behind h.
		t.h.Store(nil)
		t.calls.Unlock()
		t.unsubscribe()
		if t.owned {
			t.nc.Close()
		}
	})
	return nil
}

// unsubscribe stops delivery on every subscription.
func (t *Transport) unsubscribe() {
	t.mu.Lock()
	subs := t.subs
	t.subs = nil
	t.mu.Unlock()
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
}

func (t *Transport) state(s bus.State) {
	t.calls.RLock()
	defer t.calls.RUnlock()
	if h := t.h.Load(); h != nil && !t.closed.Load() {
		(*h).HandleState(s)
	}
}
