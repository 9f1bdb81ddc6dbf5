package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/warpcache/warp/internal/chaos/cluster"
	"github.com/warpcache/warp/internal/chaos/control"
	"github.com/warpcache/warp/internal/chaos/history"
	"github.com/warpcache/warp/internal/chaos/node"
	"github.com/warpcache/warp/internal/chaos/workload"
)

// The shape of every run.
const (
	// initial is every key's value before the run.
	initial = "init"
	// sharedKeys is how many keys of each family every node writes; each
	// node also owns one key per family.
	sharedKeys = 2
	// warmup is how long the load runs before the fault; settle how long
	// after the heal.
	warmup = 1500 * time.Millisecond
	settle = 2 * time.Second
	// convergeBound bounds the wait for every node to serve the store's
	// values after the load stopped.
	convergeBound = 20 * time.Second
	// opTimeout bounds each operation on the node: past StrongTimeout, so
	// that a strong write's ErrQuorum comes back rather than a timeout.
	opTimeout = 3 * time.Second
	// maxOpsPerClient bounds each client's operations in a run.
	maxOpsPerClient = 20000
)

// families returns the run's key families for nodes nodes (eventual,
// strong, strong with a quorum: shared keys <prefix>0, <prefix>1, and one
// key per node, <prefix>n1...) and every key.
func families(nodes int) ([]workload.Family, []string) {
	var fs []workload.Family
	var all []string
	for _, prefix := range node.Prefixes {
		var f workload.Family
		for i := range sharedKeys {
			f.Shared = append(f.Shared, fmt.Sprintf("%s%d", prefix, i))
		}
		for i := range nodes {
			f.Owned = append(f.Owned, fmt.Sprintf("%sn%d", prefix, i+1))
		}
		fs = append(fs, f)
		all = append(append(all, f.Shared...), f.Owned...)
	}
	return fs, all
}

// target adapts a cluster to workload.Target and fleet.
type target struct{ c *cluster.Cluster }

func (t target) Nodes() int                   { return len(t.c.Nodes()) }
func (t target) Client(i int) *control.Client { return t.c.Nodes()[i].Client() }
func (t target) NodeID(i int) string          { return t.c.Nodes()[i].ID }

func (t target) StoreValues(ctx context.Context, keys []string) (map[string]string, error) {
	return t.c.StoreValues(ctx, keys)
}

// fleet is what converge reads: the nodes and the store's values (absent
// keys left out).
type fleet interface {
	workload.Target
	StoreValues(ctx context.Context, keys []string) (map[string]string, error)
}

// runOnce runs scenario sc once on a fresh cluster and judges its history.
func runOnce(ctx context.Context, o *Options, p Profile, sc Scenario, run int) (res RunResult) {
	start := time.Now()
	res = RunResult{Scenario: sc.Name, Run: run}
	defer func() { res.Wall = time.Since(start) }()
	dir := filepath.Join(o.OutDir, fmt.Sprintf("%s-%d", sc.Name, run))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.Err = err
		return res
	}
	fams, all := families(o.Nodes)
	c, err := cluster.Start(ctx, cluster.Config{
		Exe: o.Exe, Nodes: o.Nodes, NATSServers: sc.NATS, DSN: o.DSN, LogDir: dir,
		ConnsPerNode: o.ClientsPerNode + 1, Keys: all, Initial: initial, Canary: sc.Canary,
	})
	if err != nil {
		res.Err = err
		return res
	}
	closeCluster := func() {
		if err := c.Close(); err != nil && res.Err == nil {
			res.Err = err
		}
	}
	defer closeCluster()
	rec := history.NewRecorder()
	wl := workload.Start(target{c}, rec, workload.Config{
		ClientsPerNode: o.ClientsPerNode, Families: fams,
		Timeout: opTimeout, ThinkMin: 5 * time.Millisecond, ThinkMax: 25 * time.Millisecond,
		MaxOps: maxOpsPerClient, Seed: o.Seed + uint64(run),
	})
	env := &Env{c: c, logf: func(f string, a ...any) {
		o.Logf("  %s #%d %6.2fs: %s", sc.Name, run, time.Duration(rec.Now()).Seconds(), fmt.Sprintf(f, a...))
	}}
	err = env.sleep(ctx, warmup)
	if err == nil {
		err = sc.Fault(ctx, env)
	}
	if err == nil {
		err = env.sleep(ctx, settle)
	}
	wl.Stop()
	if err != nil {
		res.Err = fmt.Errorf("fault: %w", err)
		return res
	}
	env.logf("load stopped; waiting for convergence")
	final, conv := converge(ctx, target{c}, rec, all, o.Nodes*o.ClientsPerNode, convergeBound)
	res.Converged, res.ConvergeNote = conv == "", conv
	closeCluster() // the final values are read: free the cores for porcupine
	judge(ctx, &res, rec.Ops(), final, o, p, dir)
	return res
}

// converge reads every key on every node of f until each serves the
// store's value, bounded by bound and ctx, which it checks before every
// read; the reads join the history (clients base.. base+nodes-1). It
// returns the store's final values and "" if the cluster converged, else
// what was still different: each lagging node's first key off.
func converge(ctx context.Context, f fleet, rec *history.Recorder, keys []string, base int, bound time.Duration) (map[string]string, string) {
	deadline := time.Now().Add(bound)
	over := func() bool { return ctx.Err() != nil || time.Now().After(deadline) }
	var diffs []string
	for {
		final, err := f.StoreValues(ctx, keys)
		if err != nil {
			return nil, "store: " + err.Error()
		}
		sweep, cut := lagging(f, rec, keys, base, final, deadline, over)
		if !cut && len(sweep) == 0 {
			return final, ""
		}
		if len(sweep) > 0 || diffs == nil {
			diffs = sweep
		}
		if cut || over() {
			why := strings.Join(diffs, "; ")
			if why == "" {
				why = cmp.Or(context.Cause(ctx), errors.New("not every node was read")).Error()
			}
			return final, fmt.Sprintf("not within %v: %s", bound, why)
		}
		<-time.After(100 * time.Millisecond)
	}
}

// lagging reads every key on every node, moving on to the next node at
// its first key that differs from final, and returns those differences;
// cut is true if over() stopped it before every node was read.
func lagging(f fleet, rec *history.Recorder, keys []string, base int, final map[string]string, deadline time.Time, over func() bool) (diffs []string, cut bool) {
nodes:
	for i := range f.Nodes() {
		id, cl := f.NodeID(i), f.Client(i)
		if cl == nil {
			diffs = append(diffs, id+" is down")
			continue
		}
		for _, k := range keys {
			if over() {
				return diffs, true
			}
			op, _ := workload.Do(cl, rec, history.Op{Client: base + i, Node: id, Kind: history.Read, Keys: []string{k}}, min(opTimeout, time.Until(deadline)))
			if op.Status != history.OK || op.Values[0] != final[k] {
				diffs = append(diffs, fmt.Sprintf("%s serves %s = %v %q; the store holds %q", id, k, op.Status, op.Values, final[k]))
				continue nodes
			}
		}
	}
	return diffs, false
}
