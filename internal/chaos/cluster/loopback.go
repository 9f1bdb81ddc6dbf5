package cluster

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warpcache/warp/internal/loopback"
)

// loopbackOnly checks that every host cfg may connect to, its Host and
// every fallback's, is a loopback address. The name localhost is resolved
// with cfg.LookupFunc (what pgx would use) and accepted if every address
// it resolves to is loopback; any other name is refused unresolved.
func loopbackOnly(ctx context.Context, cfg *pgconn.Config) error {
	hosts := []string{cfg.Host}
	for _, f := range cfg.Fallbacks {
		hosts = append(hosts, f.Host)
	}
	for _, h := range hosts {
		if err := loopback.Host(ctx, h, loopback.Lookup(cfg.LookupFunc)); err != nil {
			return fmt.Errorf("cluster: postgres: %w", err)
		}
	}
	return nil
}
