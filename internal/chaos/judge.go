package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/warpcache/warp/internal/chaos/check"
	"github.com/warpcache/warp/internal/chaos/history"
	"github.com/warpcache/warp/internal/chaos/node"
)

// RunResult is the verdict on one run of a scenario.
type RunResult struct {
	Scenario string
	Run      int
	// Ops counts the operations in the history (final reads included).
	Ops int
	// Strong counts the strong keys porcupine found not linearizable;
	// Inconclusive those whose check timed out.
	Strong, Inconclusive int
	// Stale counts eventual reads staler than the bound (serve-stale
	// ones: than the bound plus node.ServeStaleAge); StaleMax is the
	// largest staleness of any eventual read of the flush-policy family,
	// ServeStaleMax of the serve-stale family.
	Stale                   int
	StaleMax, ServeStaleMax time.Duration
	// Phantoms counts phantom reads and lost writes.
	Phantoms int
	// Converged: every node served the store's values after the heal.
	Converged    bool
	ConvergeNote string
	Wall         time.Duration
	// Err is a failure of the run itself (the cluster did not start, a
	// fault could not be applied).
	Err error
	// Notes are evidence for the report: examples, files written.
	Notes []string
}

// Failed reports whether the run failed a check or did not complete.
func (r RunResult) Failed() bool {
	return r.Err != nil || r.Strong > 0 || r.Inconclusive > 0 || r.Stale > 0 || r.Phantoms > 0 || !r.Converged
}

// examples is how many examples of each failure a run's notes list.
const examples = 3

// judge runs every checker on ops and fills res; evidence of failures is
// written to dir. Porcupine's check of each key is cut to what is left of
// ctx (the profile's budget); once ctx is done no further key is checked
// and res.Err says so.
func judge(ctx context.Context, res *RunResult, ops []history.Op, final map[string]string, o *Options, p Profile, dir string) {
	res.Ops = len(ops)
	res.Notes = append(res.Notes, writeCounts(ops))
	var verdicts []check.Verdict
	for _, prefix := range node.StrongPrefixes {
		vs, err := check.Linearizable(ctx, ops, prefix, initial, p.CheckTimeout)
		verdicts = append(verdicts, vs...)
		if err != nil {
			res.Err = errors.Join(res.Err, fmt.Errorf("judge: linearizability not checked in full: %w", err))
			break
		}
	}
	for _, v := range verdicts {
		switch v.Result {
		case porcupine.Illegal:
			res.Strong++
			path := filepath.Join(dir, "linearizability-"+strings.ReplaceAll(v.Key, ":", "")+".html")
			if err := v.Visualize(path); err != nil {
				res.Notes = append(res.Notes, err.Error())
			} else {
				res.Notes = append(res.Notes, fmt.Sprintf("%s is not linearizable (%d ops): %s", v.Key, v.Ops, path))
			}
		case porcupine.Unknown:
			res.Inconclusive++
			res.Notes = append(res.Notes, fmt.Sprintf("%s: porcupine gave up within %v (%d ops)", v.Key, p.CheckTimeout, v.Ops))
		}
	}
	var witnesses []check.StaleRead
	for _, prefix := range node.StrongPrefixes {
		witnesses = append(witnesses, check.Stale(ops, prefix, initial, 0).Over...)
	}
	for i, w := range witnesses {
		if i == examples {
			break
		}
		res.Notes = append(res.Notes, "strong stale read: "+w.String())
	}
	st := check.Stale(ops, node.EventualPrefix, initial, o.StaleBound)
	// Serve-stale keys may be served for their maxAge past the lease.
	sst := check.Stale(ops, node.ServeStalePrefix, initial, o.StaleBound+node.ServeStaleAge)
	res.Stale, res.StaleMax, res.ServeStaleMax = len(st.Over)+len(sst.Over), st.Max, sst.Max
	for i, s := range append(st.Over, sst.Over...) {
		if i == examples {
			break
		}
		res.Notes = append(res.Notes, "eventual stale read: "+s.String())
	}
	ph := check.Phantoms(ops, node.Prefixes, initial, final)
	res.Phantoms = len(ph)
	for i, x := range ph {
		if i == examples {
			break
		}
		res.Notes = append(res.Notes, "phantom: "+x.String())
	}
	if !res.Converged {
		res.Notes = append(res.Notes, "no convergence: "+res.ConvergeNote)
	}
	if res.Failed() {
		path := filepath.Join(dir, "history.jsonl")
		if err := saveHistory(path, ops); err != nil {
			res.Notes = append(res.Notes, err.Error())
		} else {
			res.Notes = append(res.Notes, "history: "+path)
		}
	}
}

// writeCounts summarizes the writes' outcomes.
func writeCounts(ops []history.Op) string {
	n := map[history.Status]int{}
	for _, op := range ops {
		if op.Writes() {
			n[op.Status]++
		}
	}
	return fmt.Sprintf("writes: %d ok, %d failed with ErrQuorum, %d unknown", n[history.OK], n[history.Failed], n[history.Unknown])
}

// saveHistory writes ops as JSON lines.
func saveHistory(path string, ops []history.Op) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, op := range ops {
		if err := enc.Encode(op); err != nil {
			_ = f.Close()
			return err
		}
	}
	return f.Close()
}
