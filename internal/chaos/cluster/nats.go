package cluster

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsServer is one in-process nats-server that can be stopped and
// started again on the same ports.
type natsServer struct {
	mu   sync.Mutex // guards opts and srv
	opts server.Options
	srv  *server.Server
}

// startNATS starts n servers on random loopback ports; with n > 1 they
// form a cluster (each routes to the first; gossip completes the mesh).
func startNATS(n int) ([]*natsServer, error) {
	var out []*natsServer
	fail := func(err error) ([]*natsServer, error) {
		for _, s := range out {
			s.stop()
		}
		return nil, err
	}
	for i := range n {
		s := &natsServer{opts: server.Options{
			ServerName: fmt.Sprintf("chaos-nats-%d", i), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			NoLog: true, NoSigs: true,
		}}
		if n > 1 {
			s.opts.Cluster = server.ClusterOpts{Name: "warp-chaos", Host: "127.0.0.1", Port: server.RANDOM_PORT, NoAdvertise: true}
			if i > 0 {
				seed := out[0].opts.Cluster.Port
				s.opts.Routes = []*url.URL{{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", seed)}}
			}
		}
		out = append(out, s)
		if err := s.start(); err != nil {
			return fail(err)
		}
	}
	if n > 1 {
		if err := waitRoutes(out, 10*time.Second); err != nil {
			return fail(err)
		}
	}
	return out, nil
}

// waitRoutes waits, bounded, until every server sees every other.
func waitRoutes(ss []*natsServer, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		ok := true
		for _, s := range ss {
			ok = ok && s.remotes() == len(ss)-1
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: NATS routes not formed within %v", bound)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// start starts the server, on the ports of its previous run if any.
func (s *natsServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		return fmt.Errorf("cluster: nats server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("cluster: nats server %s not ready", opts.ServerName)
	}
	s.srv = srv
	if a, ok := srv.Addr().(*net.TCPAddr); ok {
		s.opts.Port = a.Port
	}
	if a := srv.ClusterAddr(); a != nil {
		s.opts.Cluster.Port = a.Port
	}
	return nil
}

// stop shuts the server down and waits until it is down; idempotent.
func (s *natsServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// addr returns the server's client address, 127.0.0.1:port (the same
// across restarts).
func (s *natsServer) addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("127.0.0.1:%d", s.opts.Port)
}

// remotes returns how many other servers this one is routed to; 0 when
// stopped.
func (s *natsServer) remotes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return 0
	}
	return s.srv.NumRemotes()
}
