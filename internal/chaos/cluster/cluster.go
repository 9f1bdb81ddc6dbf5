package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/warpcache/warp/messages/wire"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warpcache/warp/internal/chaos/control"
	"github.com/warpcache/warp/internal/chaos/proxy"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/postgres"
)

// Config configures [Start].
type Config struct {
	// Exe is the warp-chaos binary the nodes run.
	Exe string
	// Nodes is the node count; NATSServers 1 or 3.
	Nodes, NATSServers int
	// DSN is the PostgreSQL connection string; every host it names must
	// be loopback.
	DSN string
	// LogDir receives one log per node (stdout and stderr).
	LogDir string
	// ConnsPerNode bounds each node's idle control connections.
	ConnsPerNode int
	// Keys are written with Initial in the store before the nodes start.
	Keys    []string
	Initial string
	// Canary starts the nodes with their canary setting (node.Settings),
	// which breaks them on purpose.
	Canary bool
}

// Cluster is one run's NATS servers, proxies, nodes and store table.
type Cluster struct {
	cfg   Config
	name  string
	table string
	key   string // the cluster key, encoded, given to every node
	pool  *pgxpool.Pool
	store *postgres.Store[string]
	nats  []*natsServer
	nodes []*Node

	logMu sync.Mutex // guards logs
	logs  map[string]*os.File

	closeOnce sync.Once
	closeErr  error // what the first Close returned
}

// Start starts the servers, the proxies and the nodes, and waits for
// every node to see the others and hold its lease. ctx bounds the start;
// on failure everything started is stopped and the table dropped.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Nodes < 1 || cfg.NATSServers < 1 {
		return nil, fmt.Errorf("cluster: %d nodes, %d NATS servers", cfg.Nodes, cfg.NATSServers)
	}
	suffix := strings.ToLower(rand.Text()[:10])
	c := &Cluster{cfg: cfg, name: "chaos-" + suffix, table: "warp_chaos_" + suffix, logs: make(map[string]*os.File),
		key: wire.GenerateKey(1).Encode()}
	if err := c.start(ctx); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	cfg := c.cfg
	if err := c.openStore(ctx); err != nil {
		return err
	}
	var err error
	if c.nats, err = startNATS(cfg.NATSServers); err != nil {
		return err
	}
	for i := range cfg.Nodes {
		var targets []string
		for j := range c.nats { // the home server first
			targets = append(targets, c.nats[(i+j)%len(c.nats)].addr())
		}
		p, err := proxy.New(targets...)
		if err != nil {
			return err
		}
		c.nodes = append(c.nodes, &Node{ID: fmt.Sprintf("n%d", i+1), Proxy: p, c: c})
	}
	for _, n := range c.nodes {
		if err := n.start(0); err != nil {
			return err
		}
	}
	return c.WaitFormed(ctx)
}

// openStore creates the run's table and writes the initial values.
func (c *Cluster) openStore(ctx context.Context) error {
	pcfg, err := pgxpool.ParseConfig(c.cfg.DSN)
	if err != nil {
		return fmt.Errorf("cluster: postgres DSN: %w", err)
	}
	if err := loopbackOnly(ctx, &pcfg.ConnConfig.Config); err != nil {
		return err
	}
	if c.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return fmt.Errorf("cluster: postgres: %w", err)
	}
	if err := c.pool.Ping(ctx); err != nil {
		return fmt.Errorf("cluster: postgres: %w", err)
	}
	if c.store, err = postgres.New[string](ctx, c.pool, nil, postgres.Config{Table: c.table}); err != nil {
		return err
	}
	for _, k := range c.cfg.Keys {
		if _, err := c.store.Set(ctx, k, c.cfg.Initial, store.Write{}); err != nil {
			return fmt.Errorf("cluster: initial value of %s: %w", k, err)
		}
	}
	return nil
}

// Nodes returns the nodes, n1 first.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// StopNATS stops NATS server i; StartNATS starts it again on its ports.
func (c *Cluster) StopNATS(i int) { c.nats[i].stop() }

// StartNATS starts NATS server i again on the ports it had.
func (c *Cluster) StartNATS(i int) error { return c.nats[i].start() }

// StoreValues reads every key's value from the store (absent keys are
// left out).
func (c *Cluster) StoreValues(ctx context.Context, keys []string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		it, err := c.store.Get(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[k] = it.Value
	}
	return out, nil
}

// WaitFormed waits, bounded by ctx and 30 s, until every running node has
// every other node in its view and holds its lease.
func (c *Cluster) WaitFormed(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	var last []control.Stats
	for {
		last = last[:0]
		ok := true
		for _, n := range c.nodes {
			cl := n.Client()
			if cl == nil {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, err := cl.Stats(sctx)
			cancel()
			last = append(last, st)
			ok = ok && err == nil && st.LeaseValid && len(st.Members) == len(c.nodes)-1
		}
		if ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cluster: waiting for the cluster to form: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: not formed within 30s: %+v", last)
		}
		<-time.After(50 * time.Millisecond)
	}
}

// logFor returns the log file of node id, opened on first use.
func (c *Cluster) logFor(id string) io.Writer {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	if f := c.logs[id]; f != nil {
		return f
	}
	f, err := os.OpenFile(c.logPath(id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return io.Discard
	}
	c.logs[id] = f
	return f
}

func (c *Cluster) logPath(id string) string { return filepath.Join(c.cfg.LogDir, id+".log") }

// Close stops the nodes, the proxies and the NATS servers, and drops the
// table. It uses its own bounded context, so it works after the run's
// context was canceled. Only the first call does anything; later ones
// return what it returned.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Cluster) close() error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() {
			if err := n.Stop(); err != nil && !errors.Is(err, ErrDown) {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	for _, n := range c.nodes {
		_ = n.Proxy.Close()
	}
	for _, s := range c.nats {
		s.stop()
	}
	if c.pool != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := postgres.DropSchema(ctx, c.pool, c.table)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster: drop %s: %w", c.table, err))
		}
		c.pool.Close()
	}
	c.logMu.Lock()
	for _, f := range c.logs {
		_ = f.Close()
	}
	c.logMu.Unlock()
	return errors.Join(errs...)
}
