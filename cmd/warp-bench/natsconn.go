package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus/natsbus"
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
// the baseline's, the coordinator's) uses it, through natsbus.Options.
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

// busOptions returns the natsbus options of a connection named name with
// a's credentials and TLS settings.
func (a natsAuth) busOptions(name string) natsbus.Options {
	return natsbus.Options{Name: name, User: a.User, Password: a.password, Token: a.token,
		CredsFile: a.Creds, CAFile: a.CA, CertFile: a.Cert, KeyFile: a.Key}
}

// asFlags turns the natsbus.Options fields named in natsbus's errors into
// the flags and variables busOptions sets them from.
var asFlags = strings.NewReplacer(
	"user info in the URL", "user info in -nats",
	"User/Password", "-nats-user/$"+envNATSPassword,
	"User and Password", "-nats-user and $"+envNATSPassword,
	"Token", "$"+envNATSToken,
	"CredsFile", "-nats-creds",
	"CertFile and KeyFile", "-nats-tls-cert and -nats-tls-key",
)

// validate checks a with url as natsbus will when it connects (one kind
// of credentials, user info in url included; a user with a password, a
// certificate with its key), and that every named file exists.
func (a natsAuth) validate(url string) error {
	if _, err := a.busOptions("").Credentials(url); err != nil {
		return fmt.Errorf("-nats: %s", asFlags.Replace(err.Error()))
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

// secrets returns what to keep out of every message for a connection to
// url: natsbus's own list.
func (a natsAuth) secrets(url string) []string { return a.busOptions("").Secrets(url) }

// dialNATS connects to url as name with auth, for the coordinator and the
// baseline, which hear their own messages (a node's connection, made by
// natsbus.Dial, does not); the caller owns the connection.
func dialNATS(url, name string, auth natsAuth, inProcess nats.InProcessConnProvider) (*nats.Conn, error) {
	bo := auth.busOptions(name)
	bo.InProcess = inProcess // a pipe's options come with the credentials
	opts, err := bo.Credentials(url)
	if err != nil {
		return nil, fmt.Errorf("-nats: %s", asFlags.Replace(err.Error()))
	}
	nc, err := nats.Connect(url, append(opts, nats.Name(name), nats.Timeout(2*time.Second))...)
	if err != nil {
		return nil, fmt.Errorf("-nats %s: %w", redactURL(url), err)
	}
	return nc, nil
}
