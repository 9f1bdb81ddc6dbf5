package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

// The environment variables that carry a NATS secret: a secret on the
// command line would show in the process list and the shell's history.
const (
	envNATSPassword = "WARP_BENCH_NATS_PASSWORD"
	envNATSToken    = "WARP_BENCH_NATS_TOKEN"
)

// natsAuth is how warp-bench authenticates to an external NATS server
// (-nats): a creds file, TLS (a CA, a client certificate), a user with a
// password, or a token. Every connection warp-bench makes (the nodes',
// the baseline's, the coordinator's) uses it.
type natsAuth struct {
	Creds string `json:"creds,omitempty"`
	CA    string `json:"tls_ca,omitempty"`
	Cert  string `json:"tls_cert,omitempty"`
	Key   string `json:"tls_key,omitempty"`
	User  string `json:"user,omitempty"`
	// password and token come from the environment and are never printed.
	password, token string
}

// fromEnv reads the password and the token from the environment.
func (a *natsAuth) fromEnv() {
	a.password, a.token = os.Getenv(envNATSPassword), os.Getenv(envNATSToken)
}

// validate checks the combination and that every named file exists.
func (a natsAuth) validate() error {
	switch {
	case (a.Cert == "") != (a.Key == ""):
		return fmt.Errorf("-nats-tls-cert and -nats-tls-key: give both or neither")
	case a.User != "" && a.password == "":
		return fmt.Errorf("-nats-user %q: needs the password in $%s", a.User, envNATSPassword)
	case a.User == "" && a.password != "":
		return fmt.Errorf("$%s is set: needs -nats-user", envNATSPassword)
	case a.token != "" && (a.User != "" || a.Creds != ""):
		return fmt.Errorf("$%s: cannot be combined with -nats-user or -nats-creds", envNATSToken)
	case a.Creds != "" && a.User != "":
		return fmt.Errorf("-nats-creds: cannot be combined with -nats-user")
	}
	for flag, f := range map[string]string{"-nats-creds": a.Creds, "-nats-tls-ca": a.CA, "-nats-tls-cert": a.Cert, "-nats-tls-key": a.Key} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	return nil
}

// options returns the nats.go options of a.
func (a natsAuth) options() []nats.Option {
	var opts []nats.Option
	if a.Creds != "" {
		opts = append(opts, nats.UserCredentials(a.Creds))
	}
	if a.CA != "" {
		opts = append(opts, nats.RootCAs(a.CA))
	}
	if a.Cert != "" {
		opts = append(opts, nats.ClientCert(a.Cert, a.Key))
	}
	if a.User != "" {
		opts = append(opts, nats.UserInfo(a.User, a.password))
	}
	if a.token != "" {
		opts = append(opts, nats.Token(a.token))
	}
	return opts
}

// dialNATS connects to url as name with auth. A node's connection takes
// the settings natsbus.Dial would give it (fast reconnects, no echo of
// its own broadcasts); the caller owns the connection.
func dialNATS(url, name string, auth natsAuth, node bool) (*nats.Conn, error) {
	opts := append(auth.options(), nats.Name(name), nats.Timeout(2*time.Second))
	if node {
		opts = append(opts,
			nats.ReconnectWait(100*time.Millisecond), nats.MaxReconnects(-1),
			nats.ReconnectJitter(10*time.Millisecond, 10*time.Millisecond),
			nats.ReconnectBufSize(8<<20), nats.PingInterval(2*time.Second), nats.MaxPingsOutstanding(2),
			nats.NoEcho())
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("-nats %s: %w", redactURL(url), err)
	}
	return nc, nil
}
