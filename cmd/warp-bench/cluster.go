package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/api/prommetrics"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/messages/wire"
)

// modeByName maps -modes names to Warp modes.
var modeByName = map[string]api.Mode{
	"strong-local": api.ModeStrongLocal,
	"eventual":     api.ModeEventualDistributed,
	"strong":       api.ModeStrongDistributed,
}

// modePrefix gives each mode a key space of its own on the shared nodes.
var modePrefix = map[string]string{"strong-local": "sl:", "eventual": "ev:", "strong": "st:"}

// The bus of every node heartbeats every 50ms, so a cluster forms in a few
// hundred milliseconds; a lease lasts 250ms.
const (
	benchHeartbeat = 50 * time.Millisecond
	benchLease     = 250 * time.Millisecond
	// benchStrongTimeout bounds a strong write's wait for acks.
	benchStrongTimeout = 2 * time.Second
)

func busConfig(cluster string, tr bus.Transport, keys []wire.Key, insecure bool) bus.Config {
	return bus.Config{
		Cluster: cluster, Transport: tr, Keys: keys, Insecure: insecure,
		HeartbeatInterval: benchHeartbeat, LeaseDuration: benchLease,
		PeerTimeout: 2 * time.Second, StrongTimeout: benchStrongTimeout,
	}
}

// envClusterKey names the environment variable that holds the cluster key
// of a run on an external NATS server.
const envClusterKey = "WARP_CLUSTER_KEY"

// cluster is the nodes of this process, the store they share and the NATS
// server they meet on.
type cluster struct {
	cfg      config
	url      string
	srv      *natsbus.Server // nil with -nats
	store    *benchStore
	name     string // the run's (or, across processes, the cluster's) name
	ids      []string
	nodes    []*api.Warp[[]byte]
	conns    []string     // where each node's NATS connection goes (result.NodeConns)
	counters []*l1Counter // each node's L1 read counters
	total    int          // nodes in the cluster, across processes
	// probe is the running phase's staleness probe; the nodes' invalidation
	// listeners report to it.
	probe atomic.Pointer[probe]
}

// newCluster starts the NATS server (unless -nats), opens the store and
// starts this process's nodes, each with its own NATS connection.
func newCluster(ctx context.Context, cfg config, pr *progress) (c *cluster, err error) {
	c = &cluster{cfg: cfg, url: cfg.NATS, total: cfg.Nodes}
	defer func() {
		if err != nil {
			_ = c.close(true, pr)
		}
	}()
	if c.url == "" {
		if c.srv, err = natsbus.StartEmbedded(natsbus.EmbeddedOptions{}); err != nil {
			return c, err
		}
		c.url = c.srv.URL()
		// The embedded server serves this process only: a key of its own.
		c.cfg.clusterKeys = []wire.Key{wire.GenerateKey(1)}
	} else if !cfg.Insecure {
		if c.cfg.clusterKeys, err = wire.LoadKeys(envClusterKey); err != nil {
			return c, fmt.Errorf("-nats: the cluster key: %w; every process of the cluster needs the same one in $%s (or a file named by $%s_FILE): "+
				"warp-bench -gen-key prints one; -insecure runs without (docs/security.md)", err, envClusterKey, envClusterKey)
		}
	}
	c.name, c.ids = runID(), make([]string, cfg.Nodes)
	for i := range c.ids {
		c.ids[i] = fmt.Sprintf("n%d", i)
	}
	if cfg.multiProcess() {
		c.name, c.ids, c.total = cfg.Cluster, []string{cfg.NodeID}, cfg.NodesExpected
	}
	if c.store, err = openStore(ctx, cfg, c.name); err != nil {
		return c, err
	}
	pr.printf("store: %s", c.store.where)
	for i, id := range c.ids {
		if err := c.startNode(i, id); err != nil {
			return c, err
		}
	}
	return c, nil
}

// inProcess returns the embedded server as the provider of in-process
// connections with -nats-inprocess, else nil (connect over TCP).
func (c *cluster) inProcess() nats.InProcessConnProvider {
	if !c.cfg.NATSInProcess || c.srv == nil {
		return nil
	}
	return c.srv
}

// startNode starts node i on a connection of its own, which its
// transport owns.
func (c *cluster) startNode(i int, id string) error {
	bo := c.cfg.Auth.busOptions("warp-bench-" + id)
	bo.InProcess = c.inProcess()
	tr, err := natsbus.Dial(c.url, bo)
	if err != nil {
		return fmt.Errorf("-nats: node %s: %w", id, err)
	}
	counter := &l1Counter{on: c.cfg.L1Hits}
	if c.cfg.MetricsAddr != "" { // each node's metrics, labelled by node and run
		reg := prometheus.WrapRegistererWith(prometheus.Labels{"bench_node": id, "bench_run": c.name}, prometheus.DefaultRegisterer)
		counter.next = prommetrics.New(reg, prommetrics.Config{})
	}
	opts := []api.Option[[]byte]{
		api.WithNodeConfig[[]byte](actors.Config{ID: id}),
		api.WithBus[[]byte](busConfig(c.cfg.Cluster, tr, c.cfg.clusterKeys, c.cfg.Insecure)),
		api.WithInvalidationListener[[]byte](func(ev api.Invalidation) {
			if p := c.probe.Load(); p != nil {
				p.applied(i, ev)
			}
		}),
	}
	if c.cfg.MaxMiB > 0 {
		opts = append(opts, api.WithMaxBytes[[]byte](c.cfg.MaxMiB<<20))
	}
	opts = append(opts, counter.options()...)
	w, err := api.New[[]byte](c.store.s, opts...)
	if err != nil {
		_ = tr.Close()
		return err
	}
	c.nodes = append(c.nodes, w)
	c.conns = append(c.conns, tr.Conn().ConnectedAddr())
	c.counters = append(c.counters, counter)
	return nil
}

// converge waits until every local node sees all its peers and holds its
// coherence lease.
func (c *cluster) converge(ctx context.Context, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	tk := time.NewTicker(5 * time.Millisecond)
	defer tk.Stop()
	for {
		ok := true
		for _, w := range c.nodes {
			if len(w.Bus().Members()) != c.total-1 || !w.Bus().LeaseValid() {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the %d nodes did not all see each other within %v", c.total, bound)
		}
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-tk.C:
		}
	}
}

// register registers mode's key space on every local node; a strong one
// needs acks from every other node (quorum total-1).
func (c *cluster) register(mode string) error {
	pat := modePrefix[mode] + "*"
	for _, w := range c.nodes {
		if err := w.Register(pat, modeByName[mode], time.Hour); err != nil {
			return err
		}
		if mode == "strong" {
			if err := w.SetQuorum(pat, c.total-1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *cluster) busStats() bus.Stats {
	var s bus.Stats
	for _, w := range c.nodes {
		b := w.Bus().Stats()
		s.Published += b.Published
		s.Applied += b.Applied
		s.Repairs += b.Repairs
		s.Gaps += b.Gaps
		s.Overflows += b.Overflows
	}
	return s
}

// close stops the nodes (and so their connections), drops what the run wrote
// into the store when drop is set, then closes the store and the server.
func (c *cluster) close(drop bool, pr *progress) error {
	for _, w := range c.nodes {
		_ = w.Close()
	}
	var err error
	if c.store != nil {
		if drop {
			err = dropStore(c.store, pr)
		}
		c.store.close()
	}
	if c.srv != nil {
		c.srv.Shutdown()
	}
	return err
}

// dropStore drops what the run wrote, with a progress line each second.
func dropStore(s *benchStore, pr *progress) error {
	start := time.Now()
	stop := pr.watch(func(el time.Duration) string { return fmt.Sprintf("cleanup: dropping %s (%v)", s.where, el) })
	err := s.dropAll()
	stop()
	if s.where != "memory" && s.where != "none" {
		if err != nil {
			pr.printf("cleanup: %s: %v", s.where, err)
		} else {
			pr.printf("cleanup: dropped %s in %v", s.where, time.Since(start).Round(time.Millisecond))
		}
	}
	return err
}
