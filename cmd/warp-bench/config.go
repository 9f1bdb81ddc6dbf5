package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warpcache/warp/internal/loopback"
	"github.com/warpcache/warp/messages/wire"
)

// config is the parsed command line.
type config struct {
	Keys        int           `json:"keys"`
	ReadRatio   float64       `json:"read_ratio"`
	Dist        string        `json:"dist"`
	ValueSize   int           `json:"value_size"`
	Concurrency int           `json:"concurrency"`
	Duration    time.Duration `json:"duration_ns"`
	MaxOps      int           `json:"max_ops"`
	JSON        bool          `json:"-"`
	CSV         bool          `json:"-"`
	Plot        string        `json:"-"`
	Targets     string        `json:"targets,omitempty"`

	Nodes         int           `json:"nodes"`
	Modes         string        `json:"modes,omitempty"`
	Rate          float64       `json:"rate,omitempty"`
	ProbeInterval time.Duration `json:"probe_interval_ns,omitempty"`
	Store         string        `json:"store"`
	MaxMiB        int           `json:"max_mib,omitempty"`
	PostgresDSN   string        `json:"-"`
	RedisAddr     string        `json:"-"`
	NATS          string        `json:"nats,omitempty"` // redacted in the report
	Auth          natsAuth      `json:"nats_auth,omitempty"`
	Cluster       string        `json:"cluster,omitempty"`
	NodeID        string        `json:"node_id,omitempty"`
	NodesExpected int           `json:"nodes_expected,omitempty"`
	JoinTimeout   time.Duration `json:"-"`
	L1Hits        bool          `json:"l1_hits"`
	Insecure      bool          `json:"insecure,omitempty"`
	NATSInProcess bool          `json:"nats_inprocess,omitempty"`
	ProbeSpin     bool          `json:"probe_spin,omitempty"`
	GenKey        bool          `json:"-"`
	clusterKeys   []wire.Key    // the bus's keys, set by newCluster: generated for the embedded server, $WARP_CLUSTER_KEY's with -nats
	MetricsAddr   string        `json:"-"`
	CPUProfile    string        `json:"-"`
}

// multiProcess reports whether this process is one node of a cluster of
// several warp-bench processes.
func (c config) multiProcess() bool { return c.NodeID != "" }

// phases is how many timed phases the run has (for the progress line).
func (c config) phases() int {
	if c.Nodes == 1 && !c.multiProcess() {
		return len(strings.Split(c.Targets, ","))
	}
	n := len(strings.Split(c.Modes, ",")) + 1 // + the raw NATS baseline
	if c.runsRueidis() {
		n++
	}
	return n
}

// runsRueidis reports whether the run measures the rueidis baseline: a
// cluster's eventual mode is compared with it.
func (c config) runsRueidis() bool {
	return (c.Nodes > 1 || c.multiProcess()) && slices.Contains(strings.Split(c.Modes, ","), "eventual")
}

// secrets returns every secret the configuration holds, for the
// scrubber.
func (c config) secrets() []string {
	return append(c.Auth.secrets(c.NATS), secretsOf(c.PostgresDSN)...)
}

// printable is c as the report shows it: no secret in it.
func (c config) printable() config {
	c.NATS = redactURL(c.NATS)
	c.PostgresDSN = redactURL(c.PostgresDSN)
	return c
}

func (c config) validate() error {
	if err := c.validateLoad(); err != nil {
		return err
	}
	if err := c.validateOutput(); err != nil {
		return err
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	return c.validateEndpoints()
}

func (c config) validateLoad() error {
	switch {
	case c.Keys <= 0 || c.Keys > 100_000_000:
		return fmt.Errorf("-keys %d: must be in [1, 1e8]", c.Keys)
	case c.ReadRatio < 0 || c.ReadRatio > 1:
		return fmt.Errorf("-reads %v: must be in [0, 1]", c.ReadRatio)
	case c.Dist != "uniform" && c.Dist != "zipf":
		return fmt.Errorf("-dist %q: must be uniform or zipf", c.Dist)
	case c.ValueSize < 8 || c.ValueSize > 1<<20:
		return fmt.Errorf("-value-size %d: must be in [8, 1048576] (the first 8 bytes carry the staleness probe's sequence)", c.ValueSize)
	case c.Concurrency <= 0 || c.Concurrency > 1024:
		return fmt.Errorf("-concurrency %d: must be in [1, 1024]", c.Concurrency)
	case c.Duration <= 0 || c.Duration > time.Hour:
		return fmt.Errorf("-duration %v: must be in (0, 1h]", c.Duration)
	case c.MaxOps <= 0:
		return fmt.Errorf("-max-ops %d: must be > 0", c.MaxOps)
	case c.Rate < 0 || c.Rate > 10_000_000:
		return fmt.Errorf("-rate %v: must be in [0, 1e7] writes/s (0: closed loop)", c.Rate)
	case c.ProbeInterval < 10*time.Microsecond || c.ProbeInterval > time.Second:
		return fmt.Errorf("-probe-interval %v: must be in [10µs, 1s]", c.ProbeInterval)
	}
	return nil
}

func (c config) validateOutput() error {
	switch {
	case c.JSON && c.CSV:
		return fmt.Errorf("-csv: cannot be combined with -json (both write to stdout)")
	case c.Plot != "" && !strings.HasSuffix(c.Plot, ".svg"):
		return fmt.Errorf("-plot %q: must name a .svg file", c.Plot)
	case c.Plot != "" && c.Nodes == 1 && !c.multiProcess():
		return fmt.Errorf("-plot: charts a cluster's per-second figures; needs -nodes ≥ 2 or -node-id")
	}
	return nil
}

func (c config) validateCluster() error {
	switch {
	case c.Nodes < 1 || c.Nodes > 16:
		return fmt.Errorf("-nodes %d: must be in [1, 16]", c.Nodes)
	case c.Store != "memory" && c.Store != "postgres" && c.Store != "redis" && c.Store != "none":
		return fmt.Errorf("-store %q: must be memory, postgres, redis or none", c.Store)
	case c.Store == "none" && (c.Nodes != 1 || c.multiProcess()):
		return fmt.Errorf("-store none: only with -nodes 1 (a cluster's nodes share their store)")
	case c.MaxMiB < 0 || c.MaxMiB > 1<<20:
		return fmt.Errorf("-max-mib %d: must be in [0, 1048576]", c.MaxMiB)
	case c.Cluster == "" || strings.ContainsAny(c.Cluster, ".*> \t\r\n") || len(c.Cluster) > 32:
		return fmt.Errorf("-cluster %q: must be 1 to 32 characters without '.', '*', '>' or spaces", c.Cluster)
	case c.JoinTimeout <= 0 || c.JoinTimeout > 10*time.Minute:
		return fmt.Errorf("-join-timeout %v: must be in (0, 10m]", c.JoinTimeout)
	}
	if err := c.validateModes(); err != nil {
		return err
	}
	if c.Nodes == 1 && !c.multiProcess() {
		for _, t := range strings.Split(c.Targets, ",") {
			if _, ok := targets[t]; !ok {
				return fmt.Errorf("-targets: unknown target %q", t)
			}
		}
	}
	if c.NodeID == "" {
		if c.NodesExpected != 0 {
			return fmt.Errorf("-nodes-expected %d: only with -node-id", c.NodesExpected)
		}
		return nil
	}
	switch {
	case len(c.NodeID) > 64 || strings.ContainsAny(c.NodeID, ".*> \t\r\n"):
		return fmt.Errorf("-node-id %q: must be at most 64 characters without '.', '*', '>' or spaces", c.NodeID)
	case c.NodesExpected < 2 || c.NodesExpected > 16:
		return fmt.Errorf("-nodes-expected %d: must be in [2, 16] with -node-id", c.NodesExpected)
	case c.NATS == "":
		return fmt.Errorf("-node-id: needs -nats URL (the processes meet on an external NATS server)")
	case c.Store == "memory":
		return fmt.Errorf("-node-id: needs a store the processes share: -store postgres or -store redis")
	}
	return nil
}

func (c config) validateModes() error {
	seen := map[string]bool{}
	for _, m := range strings.Split(c.Modes, ",") {
		if _, ok := modeByName[m]; !ok {
			return fmt.Errorf("-modes: unknown mode %q (want strong-local, eventual or strong)", m)
		}
		if seen[m] {
			return fmt.Errorf("-modes: mode %q given twice", m)
		}
		seen[m] = true
	}
	return nil
}

// validateEndpoints checks that every address is on loopback; the name
// localhost is resolved, and accepted if it resolves to loopback only.
func (c config) validateEndpoints() error {
	ctx, lookup := context.Background(), net.DefaultResolver.LookupHost
	if c.NATS != "" {
		if err := loopback.URL(ctx, c.NATS, lookup); err != nil {
			return fmt.Errorf("-nats %q: %w", redactURL(c.NATS), err)
		}
		if err := c.Auth.validate(c.NATS); err != nil {
			return err
		}
	}
	if c.Store == "postgres" {
		pc, err := pgconn.ParseConfig(c.PostgresDSN)
		if err != nil {
			return fmt.Errorf("-postgres-dsn %q: not a PostgreSQL URL or key=value DSN", redactURL(c.PostgresDSN))
		}
		for _, h := range append([]string{pc.Host}, fallbackHosts(pc)...) {
			if err := loopback.Host(ctx, h, lookup); err != nil && !strings.HasPrefix(h, "/") { // a Unix socket is local
				return fmt.Errorf("-postgres-dsn %q: %w", redactURL(c.PostgresDSN), err)
			}
		}
	}
	if c.Store == "redis" {
		if err := loopback.HostPort(ctx, c.RedisAddr, lookup); err != nil {
			return fmt.Errorf("-redis-addr %q: %w", c.RedisAddr, err)
		}
	}
	if c.MetricsAddr != "" {
		if host, _, err := net.SplitHostPort(c.MetricsAddr); err != nil || host != "127.0.0.1" { // a listening address
			return fmt.Errorf("-metrics-addr %q: must be 127.0.0.1:port", c.MetricsAddr)
		}
	}
	return nil
}

// fallbackHosts returns the other hosts of a multi-host DSN.
func fallbackHosts(pc *pgconn.Config) []string {
	var out []string
	for _, f := range pc.Fallbacks {
		out = append(out, f.Host)
	}
	return out
}
