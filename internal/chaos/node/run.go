package node

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/warpcache/warp/internal/loopback"
)

// ReadyPrefix starts the line a node prints on stdout once it serves; the
// control API's address follows.
const ReadyPrefix = "warp-chaos node ready "

// Run is the node role: it parses args (the flags after "node"), starts
// Warp and the control API, prints the ready line on stdout and serves
// until SIGTERM or SIGINT.
func Run(args []string, stdout, stderr io.Writer) error {
	var s Settings
	fs := flag.NewFlagSet("warp-chaos node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.ID, "id", "", "node id (n1..nN), stable across restarts")
	fs.StringVar(&s.Cluster, "cluster", "", "bus cluster name")
	fs.StringVar(&s.NATS, "nats", "", "NATS URL: the node's fault proxy")
	fs.StringVar(&s.DSN, "dsn", "", "PostgreSQL DSN")
	fs.StringVar(&s.Table, "table", "", "the run's store table")
	fs.BoolVar(&s.Canary, "canary", false, "break the key families on purpose (the canary scenario)")
	listen := fs.String("listen", "127.0.0.1:0", "control API address (loopback)")
	offset := fs.Duration("clock-offset", 0, "offset added to the wall clock given to Warp")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if s.ID == "" || s.Cluster == "" || s.NATS == "" || s.DSN == "" || s.Table == "" {
		return errors.New("node: -id, -cluster, -nats, -dsn and -table are required")
	}
	if err := loopback.HostPort(context.Background(), *listen, nil); err != nil { // an IP literal: no name is resolved
		return fmt.Errorf("node: listen address %q: %w", *listen, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	clock := new(offsetClock)
	clock.set(*offset)
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	w, closeWarp, err := newWarp(startCtx, s, clock)
	cancel()
	if err != nil {
		return err
	}
	defer closeWarp()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("node: listen: %w", err)
	}
	srv := &http.Server{Handler: (&server{w: w, clock: clock, id: s.ID}).handler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "%s%s\n", ReadyPrefix, ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("node: serve: %w", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	<-served
	return nil
}
