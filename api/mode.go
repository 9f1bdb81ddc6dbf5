package api

import "fmt"

// Mode is a key's consistency mode.
type Mode uint8

const (
	// ModeEventualDistributed, the default: writes go to the store, then
	// every other node drops its stale copy over the bus.
	ModeEventualDistributed Mode = iota
	// ModeStrongLocal: coherent on this node; no bus traffic.
	ModeStrongLocal
	// ModeStrongDistributed: a write returns only when no node can serve
	// the old value any more.
	ModeStrongDistributed
)

func (m Mode) String() string {
	switch m {
	case ModeEventualDistributed:
		return "eventual-distributed"
	case ModeStrongLocal:
		return "strong-local"
	case ModeStrongDistributed:
		return "strong-distributed"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

func (m Mode) valid() bool { return m <= ModeStrongDistributed }
