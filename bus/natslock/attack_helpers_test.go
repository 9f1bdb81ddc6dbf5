package natslock_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/internal/natstest"
)

// confOpen is one account without permissions, everyone in it: Warp's
// user "warp" and another service's user "other". The attacks succeed.
const confOpen = `
authorization { users: [
  { user: warp,  password: warp-pw }
  { user: other, password: other-pw }
] }`

// The sections of docs/security.md whose nats-server configuration is
// tested as the page gives it.
const (
	securityDoc      = "../../docs/security.md"
	sharedSection    = "### One account shared with other services"
	dedicatedSection = "### A dedicated account (recommended)"
)

// The lines of the shared account's configuration that docs/security.md
// says are each needed: the buckets' stream API, stream creation and
// update, the buckets' subjects, the bus subjects, the buckets' direct
// gets and consumers, and the subscribe denials.
var (
	streamLines = []string{
		`"$JS.API.STREAM.*.KV_warp_locks", "$JS.API.STREAM.*.*.KV_warp_locks",`,
		`"$JS.API.STREAM.*.KV_warp_leases", "$JS.API.STREAM.*.*.KV_warp_leases",`,
	}
	createLine = `"$JS.API.STREAM.CREATE.>", "$JS.API.STREAM.UPDATE.>",`
	kvLine     = `"$KV.warp_locks.>", "$KV.warp_leases.>",`
	busLine    = `"warp.>",`
	subLine    = `subscribe: { deny: [ "warp.>", "_INBOX_warp.>", "$KV.warp_locks.>", "$KV.warp_leases.>" ] }`
	// directLines deny the buckets' direct gets, consumerLines their
	// consumers.
	directLines = []string{
		`"$JS.API.DIRECT.GET.KV_warp_locks", "$JS.API.DIRECT.GET.KV_warp_locks.>",`,
		`"$JS.API.DIRECT.GET.KV_warp_leases", "$JS.API.DIRECT.GET.KV_warp_leases.>",`,
	}
	consumerLines = []string{
		`"$JS.API.CONSUMER.*.KV_warp_locks", "$JS.API.CONSUMER.*.KV_warp_locks.>", "$JS.API.CONSUMER.*.*.KV_warp_locks.>",`,
		`"$JS.API.CONSUMER.*.KV_warp_leases", "$JS.API.CONSUMER.*.KV_warp_leases.>", "$JS.API.CONSUMER.*.*.KV_warp_leases.>",`,
	}
)

// What a deployment may let another service's client do besides the
// attacks on a lock: publish on the bus subjects, read them, and read the
// replies to Warp's JetStream requests.
const (
	busPublish     = "bus publish"
	busRead        = "bus read"
	inboxSubscribe = "inbox subscribe"
)

// bucketDelete names the deletion of the lock bucket's stream
// (TestThirdClientDeletesBucket) among the attacks a deployment lets
// through.
const bucketDelete = "bucket delete"

// deployment is a NATS set-up the attacks are tried against.
type deployment struct {
	name, conf string
	protected  bool // by permissions or accounts
	refuses    bool // the server refuses the attacks (rather than they reach nothing)
	// through names the attacks that succeed all the same: the
	// configuration lacks the line that stops them.
	through []string
}

// lets reports whether the attack named name succeeds in d (an attack the
// bucket itself refuses aside).
func (d deployment) lets(name string) bool {
	return !d.protected || slices.Contains(d.through, name)
}

// deployments returns the set-ups of docs/security.md, read from the page,
// and the shared account's configuration without the lines it says are
// each needed, with the attacks each reduced configuration lets through.
func deployments(t *testing.T) []deployment {
	t.Helper()
	shared := docConf(t, sharedSection)
	ds := []deployment{
		{name: "one account without permissions", conf: confOpen},
		{name: "one account with subject permissions", conf: shared, protected: true, refuses: true},
		{name: "one account without the stream lines", conf: without(t, shared, streamLines...), protected: true, refuses: true,
			through: []string{"stream purge API", bucketDelete}},
		{name: "one account without the CREATE/UPDATE line", conf: without(t, shared, createLine), protected: true, refuses: true,
			through: []string{"purge republished by an own stream"}},
		{name: "one account without the $KV line", conf: without(t, shared, kvLine), protected: true, refuses: true,
			through: []string{"KV purge", "KV delete", "KV put expiring after 1s"}},
		{name: "one account without the bus publish line", conf: without(t, shared, busLine), protected: true, refuses: true,
			through: []string{busPublish}},
		{name: "one account without the subscribe line", conf: without(t, shared, subLine), protected: true, refuses: true,
			through: []string{busRead, inboxSubscribe, kvSubscribe}},
		{name: "one account without the direct-get lines", conf: without(t, shared, directLines...), protected: true, refuses: true,
			through: []string{directGet}},
		{name: "one account without the consumer lines", conf: without(t, shared, consumerLines...), protected: true, refuses: true,
			through: []string{consumerRead, consumerDelete}},
		{name: "dedicated account", conf: docConf(t, dedicatedSection), protected: true},
	}
	// A name no test asks about would let nothing through unnoticed.
	known := append([]string{bucketDelete, busPublish, busRead, inboxSubscribe}, readWays...)
	for _, a := range attacks {
		known = append(known, a.name)
	}
	for _, d := range ds {
		for _, name := range d.through {
			if !slices.Contains(known, name) {
				t.Fatalf("deployment %q lets through %q, which no test tries", d.name, name)
			}
		}
	}
	return ds
}

// forEachDeployment runs test in a parallel subtest per deployment, on a
// JetStream server of its own configured as the deployment says.
func forEachDeployment(t *testing.T, test func(t *testing.T, d deployment, srv *natsbus.Server)) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			test(t, d, natstest.StartJetStream(t, natstest.Conf(t, d.conf)))
		})
	}
}

// docConf returns the first code block after the heading line of
// docs/security.md.
func docConf(t *testing.T, heading string) string {
	t.Helper()
	page, err := os.ReadFile(securityDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(page), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s: no heading %q", securityDoc, heading)
	}
	_, block, ok := strings.Cut(after, "\n```\n")
	if !ok {
		t.Fatalf("%s: no code block under %q", securityDoc, heading)
	}
	block, _, ok = strings.Cut(block, "\n```\n")
	if !ok {
		t.Fatalf("%s: the code block under %q does not end", securityDoc, heading)
	}
	return block
}

// without returns conf without the given lines (leading white space
// aside); each must be there.
func without(t *testing.T, conf string, lines ...string) string {
	t.Helper()
	kept := strings.Split(conf, "\n")
	for _, l := range lines {
		n := len(kept)
		kept = slices.DeleteFunc(kept, func(k string) bool { return strings.TrimSpace(k) == l })
		if len(kept) == n {
			t.Fatalf("%s: no line %s in the configuration:\n%s", securityDoc, l, conf)
		}
	}
	return strings.Join(kept, "\n")
}

// dialWarp connects to srv as Warp's user with Warp's inbox prefix, as
// docs/security.md says to: natsbus.Options{InboxPrefix: "_INBOX_warp"}.
func dialWarp(t *testing.T, srv *natsbus.Server) *natsbus.Transport {
	t.Helper()
	tr, err := natsbus.Dial(srv.URL(), natsbus.Options{User: "warp", Password: "warp-pw", InboxPrefix: "_INBOX_warp"})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// connectOther connects to srv as another service's user, "other", with
// nats.go's default inbox prefix, and records asynchronous errors
// (permission violations).
func connectOther(t *testing.T, srv *natsbus.Server) (*nats.Conn, <-chan error) {
	t.Helper()
	errs := make(chan error, 64)
	nc, err := nats.Connect(srv.URL(), nats.UserInfo("other", "other-pw"), nats.MaxReconnects(0),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as other: %v", err)
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
