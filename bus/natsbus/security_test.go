package natsbus_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/natstest"
)

type attempt struct {
	name string
	opts natsbus.Options
	want string // part of the error message
}

// TestCredentials: a server that requires each kind of credentials accepts
// Dial with the right setting, and refuses it without (or with a wrong one)
// with an error that says why.
func TestCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	nkPub, nkSeed := userNKey(t)
	_, strangerSeed := userNKey(t)
	op, stranger := natstest.NewOperator(t), natstest.NewOperator(t)
	p := natstest.NewPKI(t)
	const authFailed = "Authorization Violation"
	tests := []struct {
		name      string
		configure func(*server.Options)
		good      natsbus.Options
		bad       []attempt
	}{
		{"user and password",
			func(o *server.Options) { o.Users = []*server.User{{Username: "warp", Password: "pw-right"}} },
			natsbus.Options{User: "warp", Password: "pw-right"},
			[]attempt{{"none", natsbus.Options{}, authFailed}, {"wrong password", natsbus.Options{User: "warp", Password: "pw-wrong"}, authFailed}}},
		{"token",
			func(o *server.Options) { o.Authorization = "tok-right" },
			natsbus.Options{Token: "tok-right"},
			[]attempt{{"none", natsbus.Options{}, authFailed}, {"wrong token", natsbus.Options{Token: "tok-wrong"}, authFailed}}},
		{"nkey",
			func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: nkPub}} },
			natsbus.Options{NKeySeedFile: natstest.WriteFile(t, dir, "user.nk", nkSeed)},
			[]attempt{{"none", natsbus.Options{}, authFailed},
				{"another user's seed", natsbus.Options{NKeySeedFile: natstest.WriteFile(t, dir, "stranger.nk", strangerSeed)}, authFailed}}},
		{"creds (operator mode)",
			op.Configure,
			natsbus.Options{CredsFile: natstest.WriteFile(t, dir, "warp.creds", op.Creds)},
			[]attempt{{"none", natsbus.Options{}, authFailed},
				{"another operator's creds", natsbus.Options{CredsFile: natstest.WriteFile(t, dir, "stranger.creds", stranger.Creds)}, authFailed}}},
		{"tls verify",
			func(o *server.Options) { o.TLSConfig, o.TLSVerify = p.ServerTLS(), true },
			natsbus.Options{CAFile: p.CAFile, CertFile: p.ClientCertFile, KeyFile: p.ClientKeyFile},
			[]attempt{{"no client certificate", natsbus.Options{CAFile: p.CAFile}, "tls"}, // TLS 1.3: "certificate required", or the connection closed after the handshake
				{"server not trusted", natsbus.Options{CertFile: p.ClientCertFile, KeyFile: p.ClientKeyFile}, "certificate signed by unknown authority"},
				{"no TLS settings", natsbus.Options{}, "certificate"},
				{"TLS 1.0 only", natsbus.Options{TLSConfig: &tls.Config{MaxVersion: tls.VersionTLS10}}, "tls error"}}},
		{"tls verify_and_map",
			func(o *server.Options) {
				o.TLSConfig, o.TLSVerify, o.TLSMap = p.ServerTLS(), true, true
				o.Users = []*server.User{{Username: "CN=warp-node"}}
			},
			natsbus.Options{CAFile: p.CAFile, CertFile: p.ClientCertFile, KeyFile: p.ClientKeyFile},
			[]attempt{{"certificate of an unmapped identity", natsbus.Options{CAFile: p.CAFile, CertFile: p.StrangerCertFile, KeyFile: p.StrangerKeyFile}, authFailed}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := natstest.Start(t, tt.configure)
			tr, err := natsbus.Dial(srv.URL(), tt.good)
			if err != nil {
				t.Fatalf("Dial with the credentials: %v", err)
			}
			defer tr.Close()
			if err := tr.Open("c", "n", bus.HandlerFuncs{}); err != nil {
				t.Fatalf("Open: %v", err)
			}
			// The same settings on a connection made with nats.Connect.
			opts, err := tt.good.Credentials(srv.URL())
			if err != nil {
				t.Fatalf("Credentials: %v", err)
			}
			nc, err := nats.Connect(srv.URL(), append(opts, nats.MaxReconnects(0))...)
			if err != nil {
				t.Fatalf("nats.Connect with Credentials: %v", err)
			}
			nc.Close()
			for _, a := range tt.bad {
				tr, err := natsbus.Dial(srv.URL(), a.opts)
				if err == nil {
					_ = tr.Close()
					t.Errorf("%s: Dial succeeded; want an error", a.name)
					continue
				}
				if !errors.Is(err, bus.ErrTransport) || !strings.Contains(err.Error(), a.want) {
					t.Errorf("%s: got %v; want ErrTransport saying %q", a.name, err, a.want)
				}
			}
		})
	}
}

func TestCredentialsInvalid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		url  string
		opts natsbus.Options
		want string
	}{
		{"two kinds", "nats://127.0.0.1:1", natsbus.Options{Token: "tok", User: "user", Password: "pass"}, "User/Password and Token"},
		{"URL and options", "nats://user:pass@127.0.0.1:1", natsbus.Options{Token: "tok"}, "user info in the URL and Token"},
		{"user without password", "nats://127.0.0.1:1", natsbus.Options{User: "u"}, "User and Password go together"},
		{"password without user", "nats://127.0.0.1:1", natsbus.Options{Password: "p"}, "User and Password go together"},
		{"cert without key", "nats://127.0.0.1:1", natsbus.Options{CertFile: "c.pem"}, "CertFile and KeyFile go together"},
		{"missing seed file", "nats://127.0.0.1:1", natsbus.Options{NKeySeedFile: dir + "/none.nk"}, "NKeySeedFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := natsbus.Dial(tt.url, tt.opts)
			if !errors.Is(err, bus.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want ErrInvalid saying %q", tr, err, tt.want)
			}
			if opts, err := tt.opts.Credentials(tt.url); !errors.Is(err, bus.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Credentials: got %d options, %v; want ErrInvalid saying %q", len(opts), err, tt.want)
			}
		})
	}
}

func TestInboxPrefix(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, nil)
	tr, err := natsbus.Dial(srv.URL(), natsbus.Options{InboxPrefix: "_INBOX_warp"})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer tr.Close()
	if got := tr.Conn().NewRespInbox(); !strings.HasPrefix(got, "_INBOX_warp.") {
		t.Fatalf("got reply inbox %q; want the prefix _INBOX_warp.", got)
	}
	for _, bad := range []string{"bad.>", "a.*.b", "trailing.", ".leading", "with space", "a..b"} {
		if _, err := natsbus.Dial(srv.URL(), natsbus.Options{InboxPrefix: bad}); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("Dial with inbox prefix %q: got %v; want ErrInvalid", bad, err)
		}
	}
}

// The caller's TLSConfig is cloned: CAFile, CertFile and KeyFile go into
// the clone, and the connection still uses the base's settings.
func TestTLSConfigNotModified(t *testing.T) {
	t.Parallel()
	p := natstest.NewPKI(t)
	srv := natstest.Start(t, func(o *server.Options) { o.TLSConfig, o.TLSVerify = p.ServerTLS(), true })
	base := &tls.Config{MaxVersion: tls.VersionTLS12}
	tr, err := natsbus.Dial(srv.URL(), natsbus.Options{TLSConfig: base, CAFile: p.CAFile, CertFile: p.ClientCertFile, KeyFile: p.ClientKeyFile})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer tr.Close()
	if base.RootCAs != nil || base.Certificates != nil || base.GetClientCertificate != nil {
		t.Fatal("Dial changed the caller's TLSConfig")
	}
	if st, err := tr.Conn().TLSConnectionState(); err != nil || st.Version != tls.VersionTLS12 {
		t.Fatalf("got TLS version %#x, %v; want TLS 1.2, the base config's maximum", st.Version, err)
	}
}
