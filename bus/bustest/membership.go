package bustest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/warpcache/warp/bus"
)

// Membership is an in-memory [bus.Membership] shared by the buses of one
// test: linearizable under its lock. Fail makes every call fail (the
// service is unreachable); Hold keeps a node's renewals from reaching it
// (a node cut off from the service).
type Membership struct {
	mu      sync.Mutex // guards members, top and held
	members map[string]bus.Member
	top     uint64 // the largest epoch Join returned
	held    map[string]bool
	Fail    atomic.Bool
}

// NewMembership returns an empty Membership.
func NewMembership() *Membership {
	return &Membership{members: map[string]bus.Member{}, held: map[string]bool{}}
}

var errDown = errors.New("bustest: membership unreachable")

func (m *Membership) check(ctx context.Context, node string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.Fail.Load() || m.held[node] {
		return errDown
	}
	return nil
}

// Join implements bus.Membership.
func (m *Membership) Join(ctx context.Context, node string, min uint64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx, node); err != nil {
		return 0, err
	}
	epoch := max(min, m.top+1)
	m.top = epoch
	m.members[node] = bus.Member{Node: node, Epoch: epoch}
	return epoch, nil
}

// Renew implements bus.Membership.
func (m *Membership) Renew(ctx context.Context, node string, epoch uint64) ([]bus.Member, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx, node); err != nil {
		return nil, err
	}
	all := make([]bus.Member, 0, len(m.members))
	r, ok := m.members[node]
	if ok && r.Epoch == epoch {
		r.Counter++
		m.members[node] = r
	}
	for _, mb := range m.members {
		all = append(all, mb)
	}
	if !ok || r.Epoch != epoch {
		return all, fmt.Errorf("bustest: renew %s at epoch %d: %w", node, epoch, bus.ErrNotMember)
	}
	return all, nil
}

// Expel implements bus.Membership.
func (m *Membership) Expel(ctx context.Context, mb bus.Member) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if m.Fail.Load() {
		return false, errDown
	}
	if m.members[mb.Node] != mb {
		return false, nil
	}
	delete(m.members, mb.Node)
	return true, nil
}

// Leave implements bus.Membership.
func (m *Membership) Leave(ctx context.Context, node string, epoch uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx, node); err != nil {
		return err
	}
	if m.members[node].Epoch == epoch {
		delete(m.members, node)
	}
	return nil
}

// Hold cuts node off from the membership (held) or lets it through again.
func (m *Membership) Hold(node string, held bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held[node] = held
}

// Members returns the records, by node id.
func (m *Membership) Members() map[string]bus.Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]bus.Member, len(m.members))
	for k, v := range m.members {
		out[k] = v
	}
	return out
}
