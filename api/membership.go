package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/store"
)

// storeMembership is the bus's membership on a store's: the cluster's
// records live beside the data, so the store itself refuses a strong write
// once its writer is out (store.Guard).
type storeMembership struct {
	m       store.Membership
	cluster string
}

// Join implements bus.Membership.
func (s storeMembership) Join(ctx context.Context, node string, min uint64) (uint64, error) {
	return s.m.Join(ctx, s.cluster, node, min)
}

// Renew implements bus.Membership.
func (s storeMembership) Renew(ctx context.Context, node string, epoch uint64) ([]bus.Member, error) {
	ms, err := s.m.Renew(ctx, s.cluster, node, epoch)
	out := make([]bus.Member, len(ms))
	for i, m := range ms {
		out[i] = bus.Member{Node: m.Node, Epoch: m.Incarnation, Counter: m.Counter}
	}
	if errors.Is(err, store.ErrNotMember) {
		err = fmt.Errorf("%w: %w", bus.ErrNotMember, err)
	}
	return out, err
}

// Expel implements bus.Membership.
func (s storeMembership) Expel(ctx context.Context, m bus.Member) (bool, error) {
	return s.m.Expel(ctx, s.cluster, store.Member{Node: m.Node, Incarnation: m.Epoch, Counter: m.Counter})
}

// Leave implements bus.Membership.
func (s storeMembership) Leave(ctx context.Context, node string, epoch uint64) error {
	return s.m.Leave(ctx, s.cluster, node, epoch)
}
