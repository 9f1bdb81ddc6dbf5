package chaos

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Run runs the profile's scenarios, prints progress through o.Logf and
// the report to out, and reports whether every check passed, and every
// run of the canary failed some check. It stops early, failing, when ctx
// ends or the profile's budget is spent.
func Run(ctx context.Context, o Options, out io.Writer) (bool, error) {
	p, err := o.validate()
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.Budget)
	defer cancel()
	start := time.Now()
	var rows []Row
	var failures []RunResult
	var canaries []string // one line per canary scenario
	ok := true
	for _, sc := range Scenarios() {
		runs := p.Runs(sc)
		if o.Only != nil {
			if !o.Only.MatchString(sc.Name) {
				continue
			}
			runs = max(runs, 1)
		}
		if o.Runs > 0 {
			runs = o.Runs
		}
		if runs == 0 {
			continue
		}
		row := Row{Scenario: sc.Name}
		caught := 0
		for run := 1; run <= runs && ctx.Err() == nil; run++ {
			o.Logf("%s #%d: %s", sc.Name, run, sc.Doc)
			res := runOnce(ctx, &o, p, sc, run)
			row.add(res)
			o.Logf("%s #%d: %s", sc.Name, run, summary(sc, res))
			switch {
			case !sc.passed(res):
				ok = false
				failures = append(failures, res)
			case sc.Canary:
				caught++
			}
		}
		rows = append(rows, row)
		if sc.Canary {
			canaries = append(canaries, fmt.Sprintf("%s: broken on purpose, caught by the checks in %d of %d runs (it must be caught in every run)", sc.Name, caught, row.Runs))
		}
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprintf(out, "\nwarp-chaos, profile %s, %d nodes × %d clients, eventual staleness bound %v, %s\n\n",
		p.Name, o.Nodes, o.ClientsPerNode, o.StaleBound.Round(time.Millisecond), time.Since(start).Round(time.Second))
	WriteTable(out, rows)
	for _, c := range canaries {
		fmt.Fprintf(out, "\n%s\n", c)
	}
	if err := ctx.Err(); err != nil {
		ok = false
		fmt.Fprintf(out, "\nstopped early: %v (budget %v)\n", context.Cause(ctx), p.Budget)
	}
	for _, f := range failures {
		what := "failed"
		if f.Err == nil && !f.Failed() { // a canary run that passed
			what = "passed every check, broken on purpose: the checks missed it"
		}
		fmt.Fprintf(out, "\n%s #%d %s:\n", f.Scenario, f.Run, what)
		if f.Err != nil {
			fmt.Fprintf(out, "  error: %v\n", f.Err)
		}
		for _, n := range f.Notes {
			fmt.Fprintf(out, "  %s\n", n)
		}
	}
	fmt.Fprintf(out, "\nlogs and evidence: %s\n", o.OutDir)
	return ok, nil
}

// summary is a run's one-line verdict.
func summary(sc Scenario, r RunResult) string {
	if r.Err != nil {
		return fmt.Sprintf("ERROR after %v: %v", r.Wall.Round(time.Second), r.Err)
	}
	verdict := "ok"
	switch {
	case sc.Canary && r.Failed():
		verdict = "ok, caught (FAIL, as the canary must)"
	case sc.Canary:
		verdict = "MISSED (the canary passed every check)"
	case r.Failed():
		verdict = "FAIL"
	}
	return fmt.Sprintf("%s: %d ops, %d strong keys not linearizable (%d inconclusive), %d eventual reads over the bound (max staleness %v, serve-stale %v), %d lost/phantom, converged %v, %v",
		verdict, r.Ops, r.Strong, r.Inconclusive, r.Stale, r.StaleMax.Round(time.Millisecond), r.ServeStaleMax.Round(time.Millisecond), r.Phantoms, r.Converged, r.Wall.Round(time.Second))
}
