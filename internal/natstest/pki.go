package natstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// PKI is a test CA and certificates it signed, valid for an hour, each
// written with its key as PEM files to Dir.
type PKI struct {
	Dir    string
	CAFile string
	// ServerCertFile and ServerKeyFile are the server's, for 127.0.0.1.
	ServerCertFile, ServerKeyFile string
	// ClientCertFile and ClientKeyFile are a client's, CN warp-node.
	ClientCertFile, ClientKeyFile string
	// StrangerCertFile and StrangerKeyFile are another client's, CN
	// stranger.
	StrangerCertFile, StrangerKeyFile string

	ca         *x509.Certificate
	caKey      *ecdsa.PrivateKey
	serverCert tls.Certificate
}

// NewPKI makes a CA and its certificates in a temporary directory.
func NewPKI(tb testing.TB) *PKI {
	tb.Helper()
	p := &PKI{Dir: tb.TempDir(), caKey: newKey(tb)}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "warp test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		tb.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		tb.Fatal(err)
	}
	p.CAFile = WriteFile(tb, p.Dir, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	p.ServerCertFile, p.ServerKeyFile = p.issue(tb, 2, "127.0.0.1", "server", x509.ExtKeyUsageServerAuth)
	if p.serverCert, err = tls.LoadX509KeyPair(p.ServerCertFile, p.ServerKeyFile); err != nil {
		tb.Fatal(err)
	}
	p.ClientCertFile, p.ClientKeyFile = p.issue(tb, 3, "warp-node", "client", x509.ExtKeyUsageClientAuth)
	p.StrangerCertFile, p.StrangerKeyFile = p.issue(tb, 4, "stranger", "stranger", x509.ExtKeyUsageClientAuth)
	return p
}

// issue writes a certificate for cn signed by the CA (with 127.0.0.1 as
// its IP address) to <file>.pem and its key to <file>-key.pem.
func (p *PKI) issue(tb testing.TB, serial int64, cn, file string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	tb.Helper()
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return WriteFile(tb, p.Dir, file+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		WriteFile(tb, p.Dir, file+"-key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// ServerTLS returns the server's TLS configuration: it requires and
// verifies a client certificate signed by the CA. Set it as
// server.Options.TLSConfig, with TLSVerify.
func (p *PKI) ServerTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return &tls.Config{
		Certificates: []tls.Certificate{p.serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool,
		MinVersion: tls.VersionTLS12,
	}
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
