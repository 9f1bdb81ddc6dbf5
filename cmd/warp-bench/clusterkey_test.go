package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/warpcache/warp/internal/natstest"
	"github.com/warpcache/warp/messages/wire"
)

// On an external NATS server every process needs the cluster key: without
// it (and without -insecure) the run refuses to start and says how to get
// one; -gen-key prints a key the bus accepts; with the key in the
// environment the run works.
func TestClusterKeyWithExternalNATS(t *testing.T) {
	srv := natstest.Start(t, nil)
	args := []string{"-nats", srv.URL(), "-nodes", "2", "-modes", "strong-local", "-keys", "500",
		"-duration", "200ms", "-concurrency", "2", "-json"}
	if _, _, err := runJSON(t, args); err == nil || !strings.Contains(err.Error(), envClusterKey) || !strings.Contains(err.Error(), "-gen-key") {
		t.Fatalf("-nats without a key: got %v; want an error naming $%s and -gen-key", err, envClusterKey)
	}
	var out bytes.Buffer
	if err := run([]string{"-gen-key"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	keys, err := wire.ParseKeys(strings.TrimSpace(out.String()))
	if err != nil || len(keys) != 1 {
		t.Fatalf("-gen-key printed %q: %v", out.String(), err)
	}
	t.Setenv(envClusterKey, out.String())
	if _, _, err := runJSON(t, args); err != nil {
		t.Fatalf("-nats with the key in $%s: %v", envClusterKey, err)
	}
}
