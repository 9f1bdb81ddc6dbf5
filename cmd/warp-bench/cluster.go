package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/api/prommetrics"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/store"
)

// modeByName maps -modes names to Warp modes.
var modeByName = map[string]api.Mode{
	"strong-local": api.ModeStrongLocal,
	"eventual":     api.ModeEventualDistributed,
	"strong":       api.ModeStrongDistributed,
}

// modePrefix gives each mode a key space of its own on the shared nodes.
var modePrefix = map[string]string{"strong-local": "sl:", "eventual": "ev:", "strong": "st:"}

// busConfig is the bus of every node: heartbeats every 50ms, so a cluster
// forms in a few hundred milliseconds.
func busConfig(cluster string, tr bus.Transport) bus.Config {
	return bus.Config{
		Cluster: cluster, Transport: tr,
		HeartbeatInterval: 50 * time.Millisecond, LeaseDuration: 250 * time.Millisecond,
		PeerTimeout: 2 * time.Second, StrongTimeout: 2 * time.Second,
	}
}

// cluster is the nodes of this process, the store they share and the NATS
// server they meet on.
type cluster struct {
	cfg     config
	url     string
	srv     *natsbus.Server // nil with -nats
	store   store.Store[[]byte]
	cleanup func(drop bool)
	nodes   []*api.Warp[[]byte]
	total   int // nodes in the cluster, across processes
	// probe is the running phase's staleness probe; the nodes' invalidation
	// listeners report to it.
	probe atomic.Pointer[probe]
}

// newCluster starts the NATS server (unless -nats), opens the store and
// starts this process's nodes, each with its own NATS connection.
func newCluster(cfg config) (c *cluster, err error) {
	c = &cluster{cfg: cfg, url: cfg.NATS, total: cfg.Nodes}
	defer func() {
		if err != nil {
			c.close(true)
		}
	}()
	if c.url == "" {
		if c.srv, err = natsbus.StartEmbedded(natsbus.EmbeddedOptions{}); err != nil {
			return c, err
		}
		c.url = c.srv.URL()
	}
	name, ids := runID(), make([]string, cfg.Nodes)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%d", i)
	}
	if cfg.multiProcess() {
		name, ids, c.total = cfg.Cluster, []string{cfg.NodeID}, cfg.NodesExpected
	}
	if c.store, c.cleanup, err = openStore(cfg, name); err != nil {
		return c, err
	}
	for i, id := range ids {
		tr, err := natsbus.Dial(c.url, natsbus.Options{Name: "warp-bench-" + id})
		if err != nil {
			return c, fmt.Errorf("-nats %s: %w", c.url, err)
		}
		opts := []api.Option[[]byte]{
			api.WithNodeConfig[[]byte](actors.Config{ID: id}),
			api.WithBus[[]byte](busConfig(cfg.Cluster, tr)),
			api.WithInvalidationListener[[]byte](func(ev api.Invalidation) {
				if p := c.probe.Load(); p != nil {
					p.applied(i, ev)
				}
			}),
		}
		if cfg.MaxMiB > 0 {
			opts = append(opts, api.WithMaxBytes[[]byte](cfg.MaxMiB<<20))
		}
		if cfg.MetricsAddr != "" { // each node's metrics, labelled by node and run
			reg := prometheus.WrapRegistererWith(prometheus.Labels{"bench_node": id, "bench_run": name}, prometheus.DefaultRegisterer)
			opts = append(opts, prommetrics.WithMetrics[[]byte](reg))
		}
		w, err := api.New[[]byte](c.store, opts...)
		if err != nil {
			_ = tr.Close()
			return c, err
		}
		c.nodes = append(c.nodes, w)
	}
	return c, nil
}

// converge waits until every local node sees all its peers and holds its
// coherence lease.
func (c *cluster) converge(bound time.Duration) error {
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
		<-tk.C
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

// close stops the nodes, then the store and the server.
func (c *cluster) close(drop bool) {
	for _, w := range c.nodes {
		_ = w.Close()
	}
	if c.cleanup != nil {
		c.cleanup(drop)
	}
	if c.srv != nil {
		c.srv.Shutdown()
	}
}
