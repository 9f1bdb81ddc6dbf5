package natsbus_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/natstest"
)

// Secrets used below; none may appear in an error or a log line.
const (
	password = "pw-S3cretValue"
	token    = "tok-S3cretValue"
)

func logger() (*slog.Logger, *natstest.LogBuffer) {
	b := &natstest.LogBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	_ = l.Close()
	return port
}

// assertClean fails if any secret is in s.
func assertClean(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Errorf("%s shows a secret: %s", what, s)
		}
	}
}

// TestDialErrorsHideSecrets: every failing Dial with a credential in its
// URL or options returns an error, and logs, without it.
func TestDialErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	closed := "127.0.0.1:" + closedPort(t)
	auth := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "warp", Password: "right-password"}}
	}).URL()
	hostOf := strings.TrimPrefix(auth, "nats://")
	_, seed := userNKey(t)
	badSeed := append(bytes.Clone(seed[:len(seed)-4]), "AAAA"...)
	op := natstest.NewOperator(t)
	badCreds := bytes.Replace(op.Creds, []byte("-----BEGIN USER NKEY SEED-----"), []byte("-----BEGIN NOTHING-----"), 1)
	p := natstest.NewPKI(t)
	tlsURL := natstest.Start(t, func(o *server.Options) { o.TLSConfig = p.ServerTLS() }).URL()
	tests := []struct {
		name    string
		url     string
		opts    natsbus.Options
		secrets []string
		want    error
	}{
		{"refused, password in URL", "nats://warp:" + password + "@" + closed, natsbus.Options{}, []string{password}, bus.ErrTransport},
		{"refused, token in URL", "nats://" + token + "@" + closed, natsbus.Options{}, []string{token}, bus.ErrTransport},
		{"refused, URL list", "nats://a:" + password + "@" + closed + ",nats://" + token + "@" + closed, natsbus.Options{}, []string{password, token}, bus.ErrTransport},
		{"unparsable URL with password", "nats://warp:" + password + "@127.0.0.1:99x99", natsbus.Options{}, []string{password}, bus.ErrTransport},
		{"unparsable URL, encoded password", "nats://warp:pw%2DS3cretValue@127.0.0.1:9%zz", natsbus.Options{}, []string{password, "pw%2DS3cretValue"}, bus.ErrTransport},
		{"URL without scheme", "warp:" + password + "@" + closed, natsbus.Options{}, []string{password}, bus.ErrTransport},
		{"wrong password in URL", "nats://warp:" + password + "@" + hostOf, natsbus.Options{}, []string{password}, bus.ErrTransport},
		{"wrong password in options", auth, natsbus.Options{User: "warp", Password: password}, []string{password}, bus.ErrTransport},
		{"wrong token in options", auth, natsbus.Options{Token: token}, []string{token}, bus.ErrTransport},
		{"refused, password in options", "nats://" + closed, natsbus.Options{User: "warp", Password: password}, []string{password}, bus.ErrTransport},
		{"malformed seed file", auth, natsbus.Options{NKeySeedFile: natstest.WriteFile(t, dir, "bad.nk", badSeed)}, []string{string(badSeed), string(badSeed[:20])}, bus.ErrInvalid},
		{"malformed creds file", auth, natsbus.Options{CredsFile: natstest.WriteFile(t, dir, "bad.creds", badCreds)}, []string{string(op.UserSeed)}, bus.ErrTransport},
		{"creds refused", auth, natsbus.Options{CredsFile: natstest.WriteFile(t, dir, "op.creds", op.Creds)}, []string{string(op.UserSeed)}, bus.ErrTransport},
		{"untrusted TLS server, password in URL", strings.Replace(tlsURL, "nats://", "tls://warp:"+password+"@", 1), natsbus.Options{}, []string{password}, bus.ErrTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log, buf := logger()
			tt.opts.Logger = log
			tr, err := natsbus.Dial(tt.url, tt.opts)
			if err == nil {
				_ = tr.Close()
				t.Fatal("Dial succeeded; want an error")
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v; want %v", err, tt.want)
			}
			assertClean(t, "error", err.Error(), tt.secrets...)
			assertClean(t, "log", buf.String(), tt.secrets...)
		})
	}
}

// TestLogsHideSecrets: the log lines of a reconnect, of failed reconnects
// (the server's password changed meanwhile) and of a permissions violation
// show no credential of the URL.
func TestLogsHideSecrets(t *testing.T) {
	t.Parallel()
	var serverPassword atomic.Value
	serverPassword.Store(password)
	srv := natstest.Start(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "warp", Password: serverPassword.Load().(string),
			Permissions: &server.Permissions{Publish: &server.SubjectPermission{Deny: []string{"forbidden"}}}}}
	})
	url := strings.Replace(srv.URL(), "nats://", "nats://warp:"+password+"@", 1)
	log, buf := logger()
	tr, err := natsbus.Dial(url, natsbus.Options{Logger: log, ReconnectWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer tr.Close()

	if err := tr.Conn().Publish("forbidden", []byte("x")); err != nil {
		t.Fatal(err)
	}
	waitLog(t, buf, "Permissions Violation")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, buf, "natsbus: reconnected")
	serverPassword.Store("another-password")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, buf, "Authorization Violation")
	out := buf.String()
	assertClean(t, "log", out, password)
	for _, want := range []string{"natsbus: connected", "natsbus: disconnected", "nats://REDACTED@127.0.0.1:" + strconv.Itoa(port(t, srv))} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// waitLog waits, bounded, until b holds s.
func waitLog(t *testing.T, b *natstest.LogBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log after 10s:\n%s", s, b.String())
		}
		time.Sleep(5 * time.Millisecond) // polling a log written by another goroutine, bounded
	}
}

func port(t *testing.T, srv *natsbus.Server) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL(), "nats://"))
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Secrets lists what Dial keeps out of its messages: the URLs' user info
// and its password or token, raw and decoded, and the options' password
// and token; not a user name that goes with a password.
func TestSecrets(t *testing.T) {
	t.Parallel()
	got := natsbus.Options{Password: password, Token: token}.Secrets("nats://warp:pa%2Fss@h:1,nats://tok-in-url@h:2")
	for _, want := range []string{"warp:pa%2Fss", "warp:pa/ss", "pa%2Fss", "pa/ss", "tok-in-url", password, token} {
		if !slices.Contains(got, want) {
			t.Errorf("got %q; want %q among them", got, want)
		}
	}
	if slices.Contains(got, "warp") {
		t.Errorf("got %q; want no user name that goes with a password", got)
	}
}
