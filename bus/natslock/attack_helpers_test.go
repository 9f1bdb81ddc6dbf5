package natslock_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/natstest"
)

// The deployments of docs/security.md, as nats-server configuration: Warp's
// user "warp" and another service's user "other".
const (
	// Everyone in one account, nobody restricted: the attacks succeed.
	confOpen = `
authorization { users: [
  { user: warp,  password: warp-pw }
  { user: other, password: other-pw }
] }`

	// One account; "other" is kept off Warp's subjects, its KV buckets'
	// subjects and stream APIs, Warp's reply inbox, and stream
	// administration (a stream's RePublish publishes as the server, past
	// subject permissions).
	confShared = `
authorization { users: [
  { user: warp, password: warp-pw }
  { user: other, password: other-pw, permissions: {
      publish: { deny: [
        "warp.>",
        "$KV.warp_locks.>", "$KV.warp_leases.>",
        "$JS.API.STREAM.*.KV_warp_locks", "$JS.API.STREAM.*.*.KV_warp_locks",
        "$JS.API.STREAM.*.KV_warp_leases", "$JS.API.STREAM.*.*.KV_warp_leases",
        "$JS.API.STREAM.CREATE.>", "$JS.API.STREAM.UPDATE.>",
        "_INBOX_warp.>"
      ] }
      subscribe: { deny: [ "warp.>", "_INBOX_warp.>" ] }
  } }
] }`

	// Warp alone in its account; "other" in another, with JetStream.
	confDedicated = `
accounts {
  WARP: { jetstream: enabled, users: [ { user: warp,  password: warp-pw } ] }
  APPS: { jetstream: enabled, users: [ { user: other, password: other-pw } ] }
}`
)

// deployment is a NATS set-up the attacks are tried against.
type deployment struct {
	name, conf string
	protected  bool // by permissions or accounts
	refuses    bool // the server refuses the attacks (rather than they reach nothing)
}

// deployments are the set-ups of docs/security.md.
var deployments = []deployment{
	{"one account without permissions", confOpen, false, false},
	{"one account with subject permissions", confShared, true, true},
	{"dedicated account", confDedicated, true, false},
}

// forEachDeployment runs test in a parallel subtest per deployment, on a
// JetStream server of its own configured as the deployment says.
func forEachDeployment(t *testing.T, test func(t *testing.T, d deployment, srv *natsbus.Server)) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			test(t, d, natstest.StartJetStream(t, natstest.Conf(t, d.conf)))
		})
	}
}

// connectAs connects to srv as user (password "<user>-pw") with the given
// inbox prefix, and records asynchronous errors (permission violations).
func connectAs(t *testing.T, srv *natsbus.Server, user, inbox string) (*nats.Conn, <-chan error) {
	t.Helper()
	errs := make(chan error, 64)
	nc, err := nats.Connect(srv.URL(), nats.UserInfo(user, user+"-pw"), nats.MaxReconnects(0),
		nats.CustomInboxPrefix(inbox),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

// apiRequest sends a JetStream API request and returns nil only if the
// server answered it without an error.
func apiRequest(ctx context.Context, nc *nats.Conn, subject string, body any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	resp, err := nc.RequestWithContext(ctx, subject, b)
	if err != nil {
		return err
	}
	var r struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return fmt.Errorf("%s: %w", subject, err)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: %s", subject, r.Error.Description)
	}
	return nil
}

// kvMsg is a message to key's subject in bucket with the given headers
// ("name: value" pairs).
func kvMsg(bucket, key string, headers ...string) *nats.Msg {
	m := nats.NewMsg("$KV." + bucket + "." + key)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		m.Header.Set(name, value)
	}
	return m
}

// attackTimeout bounds each attack: a publish refused by a permission gets
// no answer, only the asynchronous violation.
const attackTimeout = time.Second
