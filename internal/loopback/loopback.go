// Package loopback checks that an address the project's tools (warp-bench,
// the chaos harness) connect to or listen on is on this host's loopback
// interface, so that a load or fault run never sends traffic elsewhere.
package loopback

import (
	"context"
	"fmt"
	"net"
	"net/url"
)

// Lookup resolves a host name to addresses, as net.Resolver.LookupHost and
// pgconn.Config.LookupFunc do.
type Lookup func(ctx context.Context, host string) ([]string, error)

// Host checks h: a loopback IP literal, or the name localhost when lookup
// resolves it to loopback addresses only (a hosts file may map it
// elsewhere). Any other name is refused unresolved, and so is localhost
// when lookup is nil.
func Host(ctx context.Context, h string, lookup Lookup) error {
	if ip := net.ParseIP(h); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("host %q is not a loopback address", h)
		}
		return nil
	}
	if h != "localhost" || lookup == nil {
		return fmt.Errorf("host %q is not a loopback address", h)
	}
	addrs, err := lookup(ctx, h)
	if err != nil {
		return fmt.Errorf("host %q: %w", h, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("host %q resolves to nothing", h)
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("host %q resolves to %q, not a loopback address", h, a)
		}
	}
	return nil
}

// HostPort checks host:port with Host.
func HostPort(ctx context.Context, s string, lookup Lookup) error {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	return Host(ctx, host, lookup)
}

// URL checks the host of a URL with Host. Its errors do not repeat s,
// which may hold a password.
func URL(ctx context.Context, s string, lookup Lookup) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	if u.Host == "" {
		return fmt.Errorf("no host")
	}
	return Host(ctx, u.Hostname(), lookup)
}
