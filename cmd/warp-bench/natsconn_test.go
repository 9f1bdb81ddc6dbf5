package main

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/warpcache/warp/internal/natstest"
)

// A server that wants a user and a password: given in the URL or as
// -nats-user with the password in the environment, the run succeeds and
// prints neither; a wrong password fails, and is not printed either.
func TestNATSUserPassword(t *testing.T) {
	url := natstest.Start(t, func(o *server.Options) { o.Username, o.Password = "bench", secret }).URL()
	host := strings.TrimPrefix(url, "nats://")
	res, stderr, err := runJSON(t, clusterArgs("nats://bench:"+secret+"@"+host))
	if err != nil {
		t.Fatalf("password in the URL: %v\n%s", err, stderr)
	}
	if res.Config.NATS != "nats://bench:xxxxx@"+host || len(res.Modes) != 1 || res.Modes[0].Ops == 0 {
		t.Errorf("report: nats %q, %d modes; want the URL redacted and a measured mode", res.Config.NATS, len(res.Modes))
	}
	t.Setenv(envNATSPassword, secret)
	if _, stderr, err := runJSON(t, clusterArgs(url, "-nats-user", "bench")); err != nil {
		t.Fatalf("-nats-user with $%s: %v\n%s", envNATSPassword, err, stderr)
	}
	t.Setenv(envNATSPassword, secret+"-wrong")
	if _, _, err := runJSON(t, clusterArgs(url, "-nats-user", "bench")); err == nil || !strings.Contains(err.Error(), "-nats") {
		t.Errorf("a wrong password: err = %v; want a -nats connection error", err)
	}
	t.Setenv(envNATSPassword, "")
	if _, _, err := runJSON(t, clusterArgs(url)); err == nil {
		t.Error("no credentials: the server let warp-bench in; the test proves nothing")
	}
}

// A server that wants a token: given in $WARP_BENCH_NATS_TOKEN or in
// the URL, the run succeeds and prints it nowhere; a wrong token fails,
// and is not printed either; a token with -nats-user is refused before
// connecting.
func TestNATSToken(t *testing.T) {
	url := natstest.Start(t, func(o *server.Options) { o.Authorization = secret }).URL()
	host := strings.TrimPrefix(url, "nats://")
	t.Setenv(envNATSToken, secret)
	res, stderr, err := runJSON(t, clusterArgs(url))
	if err != nil {
		t.Fatalf("token in $%s: %v\n%s", envNATSToken, err, stderr)
	}
	if len(res.Modes) != 1 || res.Modes[0].Ops == 0 || res.Baseline == nil || res.Baseline.Ops == 0 {
		t.Errorf("report %+v; want the mode and the baseline measured", res)
	}
	if _, _, err := runJSON(t, clusterArgs(url, "-nats-user", "bench")); err == nil || !strings.Contains(err.Error(), envNATSToken) {
		t.Errorf("a token with -nats-user: err = %v; want an error naming $%s", err, envNATSToken)
	}
	t.Setenv(envNATSToken, secret+"-wrong")
	if _, _, err := runJSON(t, clusterArgs(url)); err == nil || !strings.Contains(err.Error(), "-nats") {
		t.Errorf("a wrong token: err = %v; want a -nats connection error", err)
	}
	t.Setenv(envNATSToken, "")
	res, stderr, err = runJSON(t, clusterArgs("nats://"+secret+"@"+host))
	if err != nil {
		t.Fatalf("token in the URL: %v\n%s", err, stderr)
	}
	if res.Config.NATS != "nats://xxxxx@"+host {
		t.Errorf("report: nats %q; want the token redacted", res.Config.NATS)
	}
	if _, _, err := runJSON(t, clusterArgs(url)); err == nil {
		t.Error("no token: the server let warp-bench in; the test proves nothing")
	}
}

// A server that wants TLS with a client certificate signed by its CA:
// -nats-tls-ca, -nats-tls-cert and -nats-tls-key get in; without the
// client certificate the server refuses.
func TestNATSTLSClientCert(t *testing.T) {
	t.Parallel()
	p := natstest.NewPKI(t)
	url := natstest.Start(t, func(o *server.Options) { o.TLSConfig, o.TLSVerify = p.ServerTLS(), true }).URL()
	tlsArgs := []string{"-nats-tls-ca", p.CAFile}
	res, stderr, err := runJSON(t, clusterArgs(url, append(tlsArgs, "-nats-tls-cert", p.ClientCertFile,
		"-nats-tls-key", p.ClientKeyFile)...))
	if err != nil {
		t.Fatalf("with a client certificate: %v\n%s", err, stderr)
	}
	if len(res.Modes) != 1 || res.Modes[0].Ops == 0 || res.Baseline == nil || res.Baseline.Ops == 0 {
		t.Errorf("report %+v; want the mode and the baseline measured over TLS", res)
	}
	if _, _, err := runJSON(t, clusterArgs(url, tlsArgs...)); err == nil {
		t.Error("without a client certificate the server let warp-bench in; want a refusal")
	}
}

// A server in operator mode wants a user JWT signed by a trusted account:
// -nats-creds gets in; without it the server refuses.
func TestNATSCredsFile(t *testing.T) {
	t.Parallel()
	op := natstest.NewOperator(t)
	file := natstest.WriteFile(t, t.TempDir(), "bench.creds", op.Creds)
	url := natstest.Start(t, op.Configure).URL()
	res, stderr, err := runJSON(t, clusterArgs(url, "-nats-creds", file))
	if err != nil {
		t.Fatalf("with -nats-creds: %v\n%s", err, stderr)
	}
	if len(res.Modes) != 1 || res.Modes[0].Ops == 0 {
		t.Errorf("report %+v; want the mode measured", res)
	}
	if strings.Contains(stderr, string(op.UserSeed)) {
		t.Error("the creds file's seed was printed")
	}
	if _, _, err := runJSON(t, clusterArgs(url)); err == nil {
		t.Error("without credentials the server let warp-bench in; want a refusal")
	}
}
