package natslock_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natsbus"
)

// The ways another service's client reads the lock bucket (a lock's name
// is an application's key) without writing it, and deletes a consumer of
// Warp's on the bucket's stream (natslease's watcher reads revocations
// through one).
const (
	kvSubscribe    = "KV subscribe"
	directGet      = "direct get"
	consumerRead   = "consumer read"
	consumerDelete = "consumer delete"
)

// readWays are the four, in the order TestThirdClientReadsBucket tries them.
var readWays = []string{kvSubscribe, directGet, consumerRead, consumerDelete}

// TestThirdClientReadsBucket: another service's client tries to learn a
// held lock's name, which it is not told, by listening to the bucket's
// subjects, by a direct get of the bucket's first entry and by a consumer
// of its own on the bucket's stream, and tries to delete a consumer Warp's
// user made there. Without permissions every way works; with the
// permissions of docs/security.md, or in a dedicated account, none does
// (and with the permissions the server refuses the subscription); without
// the page's line that stops a way, that way works.
func TestThirdClientReadsBucket(t *testing.T) {
	t.Parallel()
	forEachDeployment(t, func(t *testing.T, d deployment, srv *natsbus.Server) {
		ctx := bounded(t, 20*time.Second)
		onc, oerrs := connectOther(t, srv)
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
		wjs, err := jetstream.New(dialWarp(t, srv).Conn())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wjs.CreateOrUpdateConsumer(ctx, "KV_"+bucket, jetstream.ConsumerConfig{Name: "warp-watch", AckPolicy: jetstream.AckNonePolicy}); err != nil {
			t.Fatalf("Warp's consumer: %v", err)
		}
		subject := "$KV." + bucket + "." + name
		got := map[string]error{}
		if m, err := sub.NextMsg(time.Second); err != nil {
			got[kvSubscribe] = err
		} else {
			got[kvSubscribe] = readName(m.Subject, subject)
		}
		// Each request has its own time: one that permissions stop gets no
		// answer and would use up a shared one, failing the next at once.
		for way, try := range map[string]func(context.Context) error{
			directGet:    func(c context.Context) error { return directGetFirst(c, onc, subject) },
			consumerRead: func(c context.Context) error { return consumerFirst(c, onc, subject) },
			consumerDelete: func(c context.Context) error {
				return apiRequest(c, onc, "$JS.API.CONSUMER.DELETE.KV_"+bucket+".warp-watch", nil)
			},
		} {
			rctx, cancel := context.WithTimeout(ctx, attackTimeout)
			got[way] = try(rctx)
			cancel()
		}
		for _, way := range readWays {
			if want := d.lets(way); (got[way] == nil) != want {
				t.Errorf("%s: got %v; want it to work: %v", way, got[way], want)
			}
		}
		if d.refuses && !d.lets(kvSubscribe) {
			expectViolation(t, oerrs, "Permissions Violation for Subscription to \"$KV."+bucket+".>\"")
		}
	})
}

// readName returns nil if read, the subject of a message another client
// got, is want: the lock's name read.
func readName(read, want string) error {
	if read != want {
		return fmt.Errorf("read %q; want %q", read, want)
	}
	return nil
}

// directGetFirst asks the bucket's stream for its first message on any key
// (a direct get, which KV buckets allow) and returns nil only if it is on
// subject.
func directGetFirst(ctx context.Context, nc *nats.Conn, subject string) error {
	resp, err := nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET.KV_"+bucket, fmt.Appendf(nil, `{"seq":1,"next_by_subj":"$KV.%s.>"}`, bucket))
	if err != nil {
		return err
	}
	if s := resp.Header.Get("Status"); s != "" {
		return errors.New("direct get: status " + s + " " + resp.Header.Get("Description"))
	}
	return readName(resp.Header.Get("Nats-Subject"), subject)
}

// consumerFirst creates a pull consumer "spy" on the bucket's stream, takes
// its first message and returns nil only if it is on subject.
func consumerFirst(ctx context.Context, nc *nats.Conn, subject string) error {
	err := apiRequest(ctx, nc, "$JS.API.CONSUMER.CREATE.KV_"+bucket+".spy", map[string]any{
		"stream_name": "KV_" + bucket,
		"config":      map[string]any{"name": "spy", "deliver_policy": "all", "ack_policy": "none"},
	})
	if err != nil {
		return err
	}
	m, err := nc.RequestWithContext(ctx, "$JS.API.CONSUMER.MSG.NEXT.KV_"+bucket+".spy", []byte(`{"batch":1,"no_wait":true}`))
	if err != nil {
		return err
	}
	return readName(m.Subject, subject)
}
