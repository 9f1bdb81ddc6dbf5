package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// secret is in every URL, DSN and variable of these tests; it must never
// be printed.
const secret = "S3cr3t-Pw-42"

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"nats://bench:" + secret + "@127.0.0.1:4222", "nats://bench:xxxxx@127.0.0.1:4222"},
		{"nats://" + secret + "@127.0.0.1:4222", "nats://xxxxx@127.0.0.1:4222"},
		{"tls://127.0.0.1:4222", "tls://127.0.0.1:4222"},
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
		{"postgres://u:" + secret + "@127.0.0.1/test", "postgres://u:xxxxx@127.0.0.1/test"},
		{"postgres://u@127.0.0.1/test?password=" + secret, "postgres://u@127.0.0.1/test?password=xxxxx"},
		{"host=127.0.0.1 user=u password=" + secret + " dbname=test", "host=127.0.0.1 user=u password=xxxxx dbname=test"},
		{"host=127.0.0.1 password='" + secret + " x' dbname=test", "host=127.0.0.1 password=xxxxx dbname=test"},
		{"postgres://u:" + secret + "@127.0.0.1/x%zz", "postgres://xxxxx@127.0.0.1/x%zz"}, // url.Parse rejects it
	} {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// Whatever fails, warp-bench's error, stdout and stderr hold no secret of
// -nats or -postgres-dsn: unreachable servers (the drivers' errors), bad
// addresses (the validation's) and flags that do not apply.
func TestNoSecretPrinted(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-nats", "nats://bench:" + secret + "@127.0.0.1:1", "-duration", "100ms"},
		{"-nats", "nats://" + secret + "@127.0.0.1:1", "-duration", "100ms"},
		{"-nats", "nats://bench:" + secret + "@192.0.2.1:4222"},
		{"-nats", "nats://bench:" + secret + "@127.0.0.1:1", "-nodes", "1"},
		{"-nats", "nats://bench:" + secret + "@127.0.0.1:1", "-nats-tls-cert", "c.pem"},
		{"-store", "postgres", "-postgres-dsn", "postgres://postgres:" + secret + "@127.0.0.1:1/test", "-duration", "100ms"},
		{"-store", "postgres", "-postgres-dsn", "host=127.0.0.1 port=1 user=postgres password=" + secret + " dbname=test", "-duration", "100ms"},
		{"-store", "postgres", "-postgres-dsn", "postgres://postgres:" + secret + "@db.example.com/test"},
		{"-store", "postgres", "-postgres-dsn", "postgres://postgres:" + secret + "@127.0.0.1:1/test%zz"},
	} {
		var out, errOut bytes.Buffer
		code := mainCode(args, &out, &errOut)
		if code == 0 {
			t.Errorf("%v: exit 0; want an error", args)
		}
		if strings.Contains(out.String()+errOut.String(), secret) {
			t.Errorf("%v: the secret was printed:\nstdout: %s\nstderr: %s", args, out.String(), errOut.String())
		}
		if !strings.Contains(errOut.String(), "warp-bench:") {
			t.Errorf("%v: no error on stderr: %q", args, errOut.String())
		}
	}
}

// noSecret fails the test if any text holds the secret.
func noSecret(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, secret) {
			t.Errorf("the secret was printed:\n%s", s)
		}
	}
}

// clusterArgs is a short run of two nodes on the NATS server at url.
func clusterArgs(url string, more ...string) []string {
	return append([]string{"-nats", url, "-insecure", "-nodes", "2", "-modes", "strong-local", "-keys", "500",
		"-duration", "200ms", "-concurrency", "2", "-json"}, more...)
}

// runJSON runs warp-bench and decodes its JSON report.
func runJSON(t *testing.T, args []string) (result, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(args, &out, &errOut)
	var res result
	if err == nil {
		if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
			t.Fatalf("bad JSON: %v\n%s", jerr, out.String())
		}
	}
	noSecret(t, out.String(), errOut.String())
	if err != nil {
		noSecret(t, err.Error())
	}
	return res, errOut.String(), err
}
