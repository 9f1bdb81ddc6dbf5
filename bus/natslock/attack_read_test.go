package natslock_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/warpcache/warp/bus/natsbus"
)

// The ways another service's client reads the lock bucket (a lock's name
// is an application's key) without writing it.
const (
	kvSubscribe    = "KV subscribe"
	directGet      = "direct get"
	consumerCreate = "consumer create"
)

// TestThirdClientReadsBucket: another service's client tries to learn a
// held lock's name by listening to the bucket's subjects, by a direct get
// of the entry and by a consumer of the bucket's stream. Without
// permissions every way works; with the permissions of docs/security.md,
// or in a dedicated account, none does (and with the permissions the
// server refuses each); without the page's line that stops a way, that
// way works.
func TestThirdClientReadsBucket(t *testing.T) {
	t.Parallel()
	forEachDeployment(t, func(t *testing.T, d deployment, srv *natsbus.Server) {
		ctx := bounded(t, 20*time.Second)
		onc, oerrs := connectAs(t, srv, "other", "_INBOX")
		sub, err := onc.SubscribeSync("$KV." + bucket + ".>")
		if err != nil {
			t.Fatal(err)
		}
		if err := onc.Flush(); err != nil {
			t.Fatal(err)
		}
		const name = "secret-name"
		if _, err := lockerAs(t, srv).TryLock(ctx, name, time.Minute); err != nil {
			t.Fatalf("TryLock: %v", err)
		}
		subject := "$KV." + bucket + "." + name
		got := map[string]error{}
		m, err := sub.NextMsg(time.Second)
		switch {
		case err != nil:
			got[kvSubscribe] = err
		case m.Subject != subject:
			got[kvSubscribe] = fmt.Errorf("read %s; want %s", m.Subject, subject)
		default:
			got[kvSubscribe] = nil
		}
		rctx, cancel := context.WithTimeout(ctx, attackTimeout)
		defer cancel()
		got[directGet] = directGetEntry(rctx, onc, subject)
		got[consumerCreate] = apiRequest(rctx, onc, "$JS.API.CONSUMER.CREATE.KV_"+bucket, map[string]any{
			"stream_name": "KV_" + bucket,
			"config":      map[string]any{"deliver_policy": "all", "ack_policy": "none", "filter_subject": "$KV." + bucket + ".>"},
		})
		for _, way := range []string{kvSubscribe, directGet, consumerCreate} {
			if want := d.lets(way); (got[way] == nil) != want {
				t.Errorf("%s: got %v; want it to work: %v", way, got[way], want)
			}
		}
		if d.refuses && !d.lets(kvSubscribe) {
			expectViolation(t, oerrs, "Permissions Violation for Subscription to \"$KV."+bucket+".>\"")
		}
	})
}

// directGetEntry asks the bucket's stream for the last message on subject
// (a direct get, which KV buckets allow) and returns nil only if it got it.
func directGetEntry(ctx context.Context, nc *nats.Conn, subject string) error {
	resp, err := nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET.KV_"+bucket, fmt.Appendf(nil, `{"last_by_subj":%q}`, subject))
	if err != nil {
		return err
	}
	if s := resp.Header.Get("Status"); s != "" {
		return errors.New("direct get: status " + s + " " + resp.Header.Get("Description"))
	}
	if got := resp.Header.Get("Nats-Subject"); got != subject {
		return fmt.Errorf("direct get: message on %q; want %q", got, subject)
	}
	return nil
}
