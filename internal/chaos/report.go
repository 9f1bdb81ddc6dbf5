package chaos

import (
	"fmt"
	"io"
	"time"
)

// Row is one scenario's line of the report: its runs added up.
type Row struct {
	Scenario string
	Runs     int
	Ops      int
	// Strong counts non-linearizable strong keys (inconclusive checks
	// included), Stale eventual reads over the bound, Phantoms phantom
	// reads and lost writes, over all runs.
	Strong, Stale, Phantoms int
	// Converged counts the runs that converged; Errors those that did not
	// complete.
	Converged, Errors int
	Wall              time.Duration
}

func (r *Row) add(res RunResult) {
	r.Runs++
	r.Ops += res.Ops
	r.Strong += res.Strong + res.Inconclusive
	r.Stale += res.Stale
	r.Phantoms += res.Phantoms
	if res.Converged {
		r.Converged++
	}
	if res.Err != nil {
		r.Errors++
	}
	r.Wall += res.Wall
}

// header is the report table's header; its format stays stable so that
// docs/reliability.md can be updated by pasting a new table.
const header = "| scenario | runs | ops | strong violations | stale eventual reads over bound | lost/phantom writes | converged | wall time |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|\n"

// WriteTable writes rows as a Markdown table.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprint(w, header)
	for _, r := range rows {
		conv := fmt.Sprintf("%d/%d", r.Converged, r.Runs)
		if r.Errors > 0 {
			conv += fmt.Sprintf(" (%d incomplete)", r.Errors)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %s | %s |\n",
			r.Scenario, r.Runs, r.Ops, r.Strong, r.Stale, r.Phantoms, conv, r.Wall.Round(time.Second))
	}
}
