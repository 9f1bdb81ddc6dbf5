package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// result is everything a run reports.
type result struct {
	Config config `json:"config"`
	Role   string `json:"role,omitempty"` // with -node-id: leader or follower
	// NodeConns is where each local node's NATS connection goes: the
	// server's address, or "pipe" (-nats-inprocess).
	NodeConns []string       `json:"node_conns,omitempty"`
	Results   []report       `json:"results,omitempty"`
	Baseline  *rttReport     `json:"baseline,omitempty"`
	Rueidis   *rueidisReport `json:"rueidis_baseline,omitempty"`
	Modes     []modeReport   `json:"modes,omitempty"`
	// Ratios are figures relative to baselines of the same run, Targets
	// absolute figures, each against its target (docs/performance.md).
	Ratios   []ratioResult `json:"ratios,omitempty"`
	Targets  []ratioResult `json:"targets,omitempty"`
	Notes    []string      `json:"notes,omitempty"`
	Timeline []point       `json:"timeline,omitempty"`
}

// derive sets what the report derives from the run's figures: the
// configuration as printed (without its secrets), the ratios and targets
// held against it and, for a cluster, the notes.
func (res *result) derive(cfg config) {
	res.Config = cfg.printable()
	if len(res.Results) > 0 { // -nodes 1
		res.Ratios = evalAll(singleRatios(res.Results), *res)
		return
	}
	res.Ratios, res.Targets = evalAll(clusterRatios, *res), evalAll(clusterTargets, *res)
	res.Notes = clusterNotes(cfg, *res)
}

// runCluster runs the baseline and every mode on a cluster: the nodes of
// this process, and with -node-id those of the other processes too.
// Whatever the run wrote into the store is dropped on the way out, also
// when it fails or is interrupted (with -node-id by the leader, or by
// anyone if the cluster never formed).
func runCluster(ctx context.Context, cfg config, pr *progress) (res result, err error) {
	c, err := newCluster(ctx, cfg, pr)
	if err != nil {
		return res, interrupted(ctx, err)
	}
	res.NodeConns = c.conns
	drop := true
	defer func() {
		if cerr := c.close(drop, pr); cerr != nil && err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
	}()
	runStart := time.Now()
	var co *coord
	leader := true
	if cfg.multiProcess() {
		if co, err = newCoord(c.url, cfg.Auth, cfg.Cluster, cfg.NodeID, cfg.NodesExpected); err != nil {
			return res, err
		}
		defer co.close()
		if leader, err = join(ctx, c, co, cfg, pr); err != nil {
			return res, interrupted(ctx, err)
		}
		drop = leader // the leader drops the shared table or prefix
		res.Role = map[bool]string{true: "leader", false: "follower"}[leader]
	} else if err := c.converge(ctx, 10*time.Second); err != nil {
		return res, err
	}
	if err := c.baseline(ctx, &res, runStart, pr, co, leader); err != nil {
		return res, interrupted(ctx, err)
	}
	for _, m := range strings.Split(cfg.Modes, ",") {
		rep, pts, err := c.runMode(ctx, m, runStart, pr, co, leader)
		if err != nil {
			return res, interrupted(ctx, err)
		}
		res.Modes = append(res.Modes, rep)
		res.Timeline = append(res.Timeline, pts...)
	}
	if leader && cfg.runsRueidis() {
		rr, pts := runRueidis(ctx, c, &res, runStart, pr)
		res.Rueidis = &rr
		res.Timeline = append(res.Timeline, pts...)
		if ctx.Err() != nil {
			return res, errInterrupted
		}
	}
	if co != nil {
		if _, err := co.barrier(ctx, "done", cfg.JoinTimeout); err != nil {
			return res, interrupted(ctx, err)
		}
	}
	return res, nil
}

// baseline measures the raw NATS round trip (the leader), while the other
// processes wait at a barrier.
func (c *cluster) baseline(ctx context.Context, res *result, runStart time.Time, pr *progress, co *coord, leader bool) error {
	if leader {
		bd := min(c.cfg.Duration, 2*time.Second)
		pr.note("baseline: raw NATS %d-of-%d ack round trip for %v", c.total-1, c.total, bd)
		start := time.Now()
		tl := newTimeline("baseline", runStart, start, bd)
		stop := pr.watch(func(el time.Duration) string { return fmt.Sprintf("baseline %v/%v", el, bd) })
		rtt, err := rawRoundTrip(ctx, c.url, c.cfg.Auth, c.inProcess(), c.total, c.cfg.Concurrency, bd, c.cfg.MaxOps, tl)
		stop()
		if err != nil {
			return err
		}
		res.Baseline = &rtt
		res.Timeline = append(res.Timeline, tl.finish(nil)...)
	}
	if co == nil {
		return nil
	}
	if !leader {
		pr.note("baseline: the leader measures it; waiting")
	}
	_, err := co.barrier(ctx, "baseline", c.cfg.JoinTimeout)
	return err
}

// interrupted turns an error caused by a cancelled run into
// errInterrupted.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, errInterrupted) {
		return fmt.Errorf("%w (%v)", errInterrupted, err)
	}
	return err
}

// join waits for this process's node to see the others, then for every
// process at the join barrier; the process with the smallest id leads.
func join(ctx context.Context, c *cluster, co *coord, cfg config, pr *progress) (leader bool, err error) {
	pr.printf("node %s waiting for %d nodes on %s (cluster %q)", cfg.NodeID, cfg.NodesExpected, redactURL(c.url), cfg.Cluster)
	if err := c.converge(ctx, cfg.JoinTimeout); err != nil {
		return false, err
	}
	ids, err := co.barrier(ctx, "join", cfg.JoinTimeout)
	if err != nil {
		return false, err
	}
	pr.printf("cluster %v formed; %s leads", ids, ids[0])
	return ids[0] == cfg.NodeID, nil
}
