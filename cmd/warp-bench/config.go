package main

import (
	"fmt"
	"strings"
	"time"
)

type config struct {
	Keys        int           `json:"keys"`
	ReadRatio   float64       `json:"read_ratio"`
	Dist        string        `json:"dist"`
	ValueSize   int           `json:"value_size"`
	Concurrency int           `json:"concurrency"`
	Duration    time.Duration `json:"duration_ns"`
	MaxOps      int           `json:"max_ops"`
	JSON        bool          `json:"-"`
	Targets     string        `json:"targets"`
}

func (c config) validate() error {
	switch {
	case c.Keys <= 0:
		return fmt.Errorf("-keys %d: must be > 0", c.Keys)
	case c.ReadRatio < 0 || c.ReadRatio > 1:
		return fmt.Errorf("-reads %v: must be in [0, 1]", c.ReadRatio)
	case c.Dist != "uniform" && c.Dist != "zipf":
		return fmt.Errorf("-dist %q: must be uniform or zipf", c.Dist)
	case c.ValueSize <= 0:
		return fmt.Errorf("-value-size %d: must be > 0", c.ValueSize)
	case c.Concurrency <= 0:
		return fmt.Errorf("-concurrency %d: must be > 0", c.Concurrency)
	case c.Duration <= 0 || c.Duration > time.Hour:
		return fmt.Errorf("-duration %v: must be in (0, 1h]", c.Duration)
	case c.MaxOps <= 0:
		return fmt.Errorf("-max-ops %d: must be > 0", c.MaxOps)
	}
	for _, t := range strings.Split(c.Targets, ",") {
		if _, ok := targets[t]; !ok {
			return fmt.Errorf("-targets: unknown target %q", t)
		}
	}
	return nil
}
