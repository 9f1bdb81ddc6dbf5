package cluster

import (
	"context"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
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
		if err := loopbackHost(ctx, cfg, h); err != nil {
			return err
		}
	}
	return nil
}

func loopbackHost(ctx context.Context, cfg *pgconn.Config, h string) error {
	if ip := net.ParseIP(h); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("cluster: postgres host %q is not loopback", h)
		}
		return nil
	}
	if h != "localhost" || cfg.LookupFunc == nil {
		return fmt.Errorf("cluster: postgres host %q is not a loopback address", h)
	}
	addrs, err := cfg.LookupFunc(ctx, h)
	if err != nil {
		return fmt.Errorf("cluster: postgres host %q: %w", h, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("cluster: postgres host %q resolves to nothing", h)
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("cluster: postgres host %q resolves to %q, not loopback", h, a)
		}
	}
	return nil
}
