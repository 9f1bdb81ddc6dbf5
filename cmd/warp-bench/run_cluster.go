package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// result is everything a run reports.
type result struct {
	Config   config             `json:"config"`
	Role     string             `json:"role,omitempty"` // with -node-id: leader or follower
	Results  []report           `json:"results,omitempty"`
	Baseline *rttReport         `json:"baseline,omitempty"`
	Modes    []modeReport       `json:"modes,omitempty"`
	Ratios   map[string]float64 `json:"ratios,omitempty"`
	Timeline []point            `json:"timeline,omitempty"`
}

// runCluster runs the baseline and every mode on a cluster: the nodes of
// this process, and with -node-id those of the other processes too.
func runCluster(cfg config, stderr io.Writer) (res result, err error) {
	c, err := newCluster(cfg)
	if err != nil {
		return res, err
	}
	drop := true
	defer func() { c.close(drop) }()
	runStart := time.Now()
	var co *coord
	leader := true
	if cfg.multiProcess() {
		if co, err = newCoord(c.url, cfg.Cluster, cfg.NodeID, cfg.NodesExpected); err != nil {
			return res, err
		}
		defer co.close()
		drop = false
		if leader, err = join(c, co, cfg, stderr); err != nil {
			return res, err
		}
		res.Role = map[bool]string{true: "leader", false: "follower"}[leader]
	} else if err := c.converge(10 * time.Second); err != nil {
		return res, err
	}
	pr := newProgress(stderr, cfg)
	if leader {
		bd := min(cfg.Duration, 2*time.Second)
		pr.note("baseline: raw NATS %d-of-%d ack round trip for %v", c.total-1, c.total, bd)
		rtt, err := rawRoundTrip(c.url, c.total, cfg.Concurrency, bd, cfg.MaxOps)
		if err != nil {
			return res, err
		}
		res.Baseline = &rtt
	}
	if co != nil {
		if !leader {
			pr.note("baseline: the leader measures it; waiting")
		}
		if _, err := co.barrier("baseline", cfg.JoinTimeout); err != nil {
			return res, err
		}
	}
	for _, m := range strings.Split(cfg.Modes, ",") {
		rep, pts, err := c.runMode(m, runStart, pr, co, leader)
		if err != nil {
			return res, err
		}
		res.Modes = append(res.Modes, rep)
		res.Timeline = append(res.Timeline, pts...)
	}
	if co != nil {
		if _, err := co.barrier("done", cfg.JoinTimeout); err != nil {
			return res, err
		}
		drop = leader // the leader drops the shared table or prefix
	}
	res.Ratios = ratios(res)
	return res, nil
}

// join waits for this process's node to see the others, then for every
// process at the join barrier; the process with the smallest id leads.
func join(c *cluster, co *coord, cfg config, stderr io.Writer) (leader bool, err error) {
	fmt.Fprintf(stderr, "warp-bench: node %s waiting for %d nodes on %s (cluster %q)\n", cfg.NodeID, cfg.NodesExpected, c.url, cfg.Cluster)
	if err := c.converge(cfg.JoinTimeout); err != nil {
		return false, err
	}
	ids, err := co.barrier("join", cfg.JoinTimeout)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(stderr, "warp-bench: cluster %v formed; %s leads\n", ids, ids[0])
	return ids[0] == cfg.NodeID, nil
}
