package loopback

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func resolves(addrs ...string) Lookup {
	return func(context.Context, string) ([]string, error) { return addrs, nil }
}

func TestHost(t *testing.T) {
	t.Parallel()
	failing := func(context.Context, string) ([]string, error) { return nil, errors.New("no resolver") }
	for _, tc := range []struct {
		host   string
		lookup Lookup
		ok     bool
	}{
		{"127.0.0.1", nil, true},
		{"127.0.0.2", nil, true},
		{"::1", nil, true},
		{"10.9.9.9", resolves("127.0.0.1"), false},
		{"0.0.0.0", nil, false},
		{"::", nil, false},
		{"localhost", resolves("127.0.0.1", "::1"), true},
		{"localhost", resolves("127.0.0.1", "10.0.0.1"), false},
		{"localhost", resolves(), false},
		{"localhost", failing, false},
		{"localhost", nil, false},
		{"db.example.com", resolves("127.0.0.1"), false}, // refused unresolved
		{"", resolves("127.0.0.1"), false},
	} {
		if err := Host(context.Background(), tc.host, tc.lookup); (err == nil) != tc.ok {
			t.Errorf("Host(%q): got %v; want accepted %v", tc.host, err, tc.ok)
		}
	}
}

func TestHostPortAndURL(t *testing.T) {
	t.Parallel()
	ctx, lookup := context.Background(), resolves("127.0.0.1")
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"127.0.0.1:4222", true}, {"[::1]:4222", true}, {"localhost:6379", true},
		{"10.0.0.1:6379", false}, {"127.0.0.1", false}, {":6379", false},
	} {
		if err := HostPort(ctx, tc.s, lookup); (err == nil) != tc.ok {
			t.Errorf("HostPort(%q): got %v; want accepted %v", tc.s, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"nats://127.0.0.1:4222", true}, {"nats://user:secret@localhost:4222", true},
		{"nats://192.0.2.1:4222", false}, {"nats://", false}, {"127.0.0.1:4222", false},
	} {
		if err := URL(ctx, tc.s, lookup); (err == nil) != tc.ok {
			t.Errorf("URL(%q): got %v; want accepted %v", tc.s, err, tc.ok)
		}
	}
	err := URL(ctx, "nats://user:secret@%zz", lookup)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("URL with a bad escape: got %v; want an error without the password", err)
	}
}
