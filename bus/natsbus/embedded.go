package natsbus

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/warpcache/warp/bus"
)

// EmbeddedOptions configures [StartEmbedded]. The zero value gives the
// documented defaults.
type EmbeddedOptions struct {
	// Port to listen on, on 127.0.0.1 only; 0 picks a free one.
	Port int
	// ReadyTimeout bounds the wait for the server to accept connections;
	// default 5s.
	ReadyTimeout time.Duration
	// JetStream enables JetStream (streams, KV buckets) on the server;
	// default off. It needs StoreDir.
	JetStream bool
	// StoreDir is the directory where JetStream keeps its files, such as a
	// test's t.TempDir(); the caller owns it. [Server.Restart] reuses it,
	// so streams survive a restart. Required when JetStream is set.
	StoreDir string
	// Configure, if set, adjusts the server's options after the fields
	// above are applied and before the server starts (at every start,
	// Restart included): users, permissions, accounts, TLS, an operator
	// for JWT authentication. The server still listens on 127.0.0.1 and
	// Port whatever it sets.
	Configure func(*server.Options)
}

// Server is an in-process nats-server listening on 127.0.0.1.
type Server struct {
	opts EmbeddedOptions
	mu   sync.Mutex // serializes starts and shutdowns; guards port
	port int
	// srv is the running server, nil while down. It is atomic so that
	// InProcessConn does not wait for mu: nats.go calls it holding its
	// connection's lock, and Restart holds mu until the new server is
	// ready.
	srv atomic.Pointer[server.Server]
}

// StartEmbedded starts a nats-server inside the process, on 127.0.0.1 and
// opts.Port (0: a free port), with logging off, and waits until it accepts
// connections.
func StartEmbedded(opts EmbeddedOptions) (*Server, error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 5 * time.Second
	}
	if opts.JetStream && opts.StoreDir == "" {
		return nil, fmt.Errorf("%w: natsbus: embedded server: JetStream needs a StoreDir", bus.ErrInvalid)
	}
	s := &Server{opts: opts}
	if err := s.start(opts.Port); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start(port int) error {
	if port == 0 {
		port = server.RANDOM_PORT
	}
	o := &server.Options{
		NoLog: true, NoSigs: true,
		MaxPayload: 8 << 20,
		JetStream:  s.opts.JetStream, StoreDir: s.opts.StoreDir,
	}
	if s.opts.Configure != nil {
		s.opts.Configure(o)
	}
	o.Host, o.Port = "127.0.0.1", port
	srv, err := server.NewServer(o)
	if err != nil {
		return fmt.Errorf("%w: natsbus: embedded server: %w", bus.ErrTransport, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(s.opts.ReadyTimeout) {
		srv.Shutdown()
		return fmt.Errorf("%w: natsbus: embedded server not ready after %v", bus.ErrTransport, s.opts.ReadyTimeout)
	}
	_, p, err := net.SplitHostPort(srv.Addr().String())
	if err != nil {
		srv.Shutdown()
		return fmt.Errorf("%w: natsbus: embedded server address: %w", bus.ErrTransport, err)
	}
	s.port, _ = strconv.Atoi(p)
	s.srv.Store(srv)
	return nil
}

// URL returns the server's client URL, nats://127.0.0.1:<port>.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "nats://127.0.0.1:" + strconv.Itoa(s.port)
}

// InProcessConn returns a new in-memory connection to the server, for
// [Options.InProcess] (it implements nats.InProcessConnProvider). It fails
// while the server is down, between [Server.Shutdown] and a
// [Server.Restart]; a connection made through it then keeps trying, as one
// over TCP would.
func (s *Server) InProcessConn() (net.Conn, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: natsbus: nil embedded server", bus.ErrInvalid)
	}
	srv := s.srv.Load()
	if srv == nil {
		return nil, fmt.Errorf("%w: natsbus: embedded server is down", bus.ErrTransport)
	}
	return srv.InProcessConn()
}

// Shutdown stops the server and waits until it is down; idempotent.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv := s.srv.Swap(nil); srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Restart shuts the server down, if it is running, and starts a new one on
// the same port, so that clients reconnect.
func (s *Server) Restart() error {
	s.Shutdown()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start(s.port)
}
