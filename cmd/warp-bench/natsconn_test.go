package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// startNATS starts an in-process nats-server on a free loopback port
// with opts' authentication; the test shuts it down.
func startNATS(t *testing.T, opts *server.Options) string {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server not ready within 5 s")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s.ClientURL()
}

// A server that wants a user and a password: given in the URL or as
// -nats-user with the password in the environment, the run succeeds and
// prints neither; a wrong password fails, and is not printed either.
func TestNATSUserPassword(t *testing.T) {
	url := startNATS(t, &server.Options{Username: "bench", Password: secret})
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

// A server that wants TLS with a client certificate signed by its CA:
// -nats-tls-ca, -nats-tls-cert and -nats-tls-key get in; without the
// client certificate the server refuses.
func TestNATSTLSClientCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	for _, name := range []string{"server", "client"} {
		der, key := newLeaf(t, ca, caKey, name)
		writePEM(t, dir, name+".pem", "CERTIFICATE", der)
		writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", key)
	}
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: filepath.Join(dir, "server.pem"),
		KeyFile: filepath.Join(dir, "server-key.pem"), CaFile: filepath.Join(dir, "ca.pem"), Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	url := startNATS(t, &server.Options{TLS: true, TLSVerify: true, TLSConfig: tc, TLSTimeout: 2})
	tlsArgs := []string{"-nats-tls-ca", filepath.Join(dir, "ca.pem")}
	res, stderr, err := runJSON(t, clusterArgs(url, append(tlsArgs, "-nats-tls-cert", filepath.Join(dir, "client.pem"),
		"-nats-tls-key", filepath.Join(dir, "client-key.pem"))...))
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
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "bench.creds")
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	if err := resolver.Store(apub, ajwt); err != nil {
		t.Fatal(err)
	}
	url := startNATS(t, &server.Options{TrustedOperators: []*jwt.OperatorClaims{oc}, AccountResolver: resolver})
	res, stderr, err := runJSON(t, clusterArgs(url, "-nats-creds", file))
	if err != nil {
		t.Fatalf("with -nats-creds: %v\n%s", err, stderr)
	}
	if len(res.Modes) != 1 || res.Modes[0].Ops == 0 {
		t.Errorf("report %+v; want the mode measured", res)
	}
	if strings.Contains(stderr, string(seed)) {
		t.Error("the creds file's seed was printed")
	}
	if _, _, err := runJSON(t, clusterArgs(url)); err == nil {
		t.Error("without credentials the server let warp-bench in; want a refusal")
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "warp-bench test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

// newLeaf returns a certificate for 127.0.0.1 signed by ca, usable by a
// server and a client, and its key.
func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string) (der, keyDER []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if der, err = x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey); err != nil {
		t.Fatal(err)
	}
	if keyDER, err = x509.MarshalECPrivateKey(key); err != nil {
		t.Fatal(err)
	}
	return der, keyDER
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
