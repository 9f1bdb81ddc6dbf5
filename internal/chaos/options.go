package chaos

import (
	"fmt"
	"regexp"
	"time"
)

// Options configure [Run].
type Options struct {
	// Profile is "short" or "full" (see [Profiles]).
	Profile string
	// Only, if set, keeps the scenarios whose name it matches.
	Only *regexp.Regexp
	// Runs, if positive, overrides every scenario's run count.
	Runs int
	// Exe is the warp-chaos binary the nodes run (os.Executable()).
	Exe string
	// DSN is the PostgreSQL connection string (loopback hosts only).
	DSN string
	// OutDir receives node logs, visualizations of failing keys and the
	// histories of failing runs.
	OutDir string
	// StaleBound is the eventual staleness bound (node.StalenessBound()).
	StaleBound time.Duration
	// Nodes and ClientsPerNode size the cluster and the load.
	Nodes, ClientsPerNode int
	// Seed makes the load's choices reproducible.
	Seed uint64
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Profile is a set of scenario runs with a time budget.
type Profile struct {
	Name string
	// Budget bounds the whole profile: past it, runs stop and the suite
	// fails.
	Budget time.Duration
	// Runs returns how many runs sc gets (0: not in the profile).
	Runs func(sc Scenario) int
	// CheckTimeout bounds porcupine per key.
	CheckTimeout time.Duration
}

// Profiles are the two profiles: short, every scenario once (about 3
// minutes on two cores, within a 10-minute budget; CI runs it), and full,
// every scenario, the pause and 30 s partition scenarios five times each.
var Profiles = map[string]Profile{
	"short": {
		Name: "short", Budget: 10 * time.Minute, CheckTimeout: 20 * time.Second,
		Runs: func(Scenario) int { return 1 },
	},
	"full": {
		Name: "full", Budget: 60 * time.Minute, CheckTimeout: time.Minute,
		Runs: func(sc Scenario) int { return sc.FullRuns },
	},
}

func (o *Options) validate() (Profile, error) {
	p, ok := Profiles[o.Profile]
	switch {
	case !ok:
		return p, fmt.Errorf("chaos: unknown profile %q (short or full)", o.Profile)
	case o.Exe == "" || o.DSN == "" || o.OutDir == "":
		return p, fmt.Errorf("chaos: Exe, DSN and OutDir are required")
	case o.Nodes < 3 || o.Nodes > 9:
		return p, fmt.Errorf("chaos: %d nodes; the scenarios need 3 to 9", o.Nodes)
	case o.ClientsPerNode < 1 || o.ClientsPerNode > 16:
		return p, fmt.Errorf("chaos: %d clients per node; want 1 to 16", o.ClientsPerNode)
	case o.StaleBound <= 0:
		return p, fmt.Errorf("chaos: stale bound %v", o.StaleBound)
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return p, nil
}
