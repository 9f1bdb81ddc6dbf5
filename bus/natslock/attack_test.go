package natslock_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natsbus"
	"github.com/warpcache/warp/bus/natslock"
)

// attack is what another service's client does to a held lock: key's
// grant has fencing token tok in the bucket natslock.DefaultBucket.
// refused says the bucket itself refuses it, whatever the permissions.
type attack struct {
	name    string
	refused bool
	run     func(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, key string, tok uint64) error
}

const bucket = natslock.DefaultBucket

var attacks = []attack{
	{"KV purge", false, func(ctx context.Context, _ *nats.Conn, js jetstream.JetStream, key string, _ uint64) error {
		_, err := js.PublishMsg(ctx, kvMsg(bucket, key, "KV-Operation: PURGE", "Nats-Rollup: sub"))
		return err
	}},
	{"KV delete", false, func(ctx context.Context, _ *nats.Conn, js jetstream.JetStream, key string, _ uint64) error {
		_, err := js.PublishMsg(ctx, kvMsg(bucket, key, "KV-Operation: DEL"))
		return err
	}},
	{"KV put expiring after 1s", false, func(ctx context.Context, _ *nats.Conn, js jetstream.JetStream, key string, _ uint64) error {
		m := kvMsg(bucket, key, "Nats-TTL: 1s")
		m.Data = []byte("other")
		_, err := js.PublishMsg(ctx, m)
		return err
	}},
	{"stream purge API", false, func(ctx context.Context, nc *nats.Conn, _ jetstream.JetStream, key string, _ uint64) error {
		return apiRequest(ctx, nc, "$JS.API.STREAM.PURGE.KV_"+bucket, map[string]any{"filter": "$KV." + bucket + "." + key})
	}},
	// KV buckets deny message deletes (DenyDelete).
	{"message delete API", true, func(ctx context.Context, nc *nats.Conn, _ jetstream.JetStream, _ string, tok uint64) error {
		return apiRequest(ctx, nc, "$JS.API.STREAM.MSG.DELETE.KV_"+bucket, map[string]any{"seq": tok, "no_erase": true})
	}},
	// A stream's RePublish is published by the server, so subject
	// permissions on the client do not apply to it.
	{"purge republished by an own stream", false, func(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, key string, _ uint64) error {
		err := apiRequest(ctx, nc, "$JS.API.STREAM.CREATE.EVIL", map[string]any{
			"name": "EVIL", "subjects": []string{"evil.*"}, "storage": "memory",
			"allow_rollup_hdrs": true, "allow_msg_ttl": true,
			"republish": map[string]any{"src": "evil.*", "dest": "$KV." + bucket + ".{{wildcard(1)}}"},
		})
		if err != nil {
			return err
		}
		m := nats.NewMsg("evil." + key)
		m.Header.Set("KV-Operation", "PURGE")
		m.Header.Set("Nats-Rollup", "sub")
		m.Header.Set("Nats-TTL", "1s")
		_, err = js.PublishMsg(ctx, m)
		return err
	}},
}

// TestThirdClientAttacks: while a node holds a lock, another service's
// client attacks the lock's KV entry in every way listed in attacks, then
// a second node waits for the lock for 3 s (past the 1 s TTLs some attacks
// set) and, if that fails, tries once more. Without permissions every
// attack but a message delete hands the lock to the second node while the
// first grant is live; with the permissions of docs/security.md, or with
// Warp in its own account, nobody else is granted the lock, the holder
// keeps it, and the next grant after its Unlock has a larger token. With
// the permissions short of a line the page says is needed, the attack
// that line stops hands the lock over, and only that one.
func TestThirdClientAttacks(t *testing.T) {
	t.Parallel()
	forEachDeployment(t, func(t *testing.T, d deployment, srv *natsbus.Server) {
		ctx := bounded(t, 30*time.Second)
		holder, rival := lockerAs(t, srv), lockerAs(t, srv)
		onc, oerrs := connectOther(t, srv)
		ojs, err := jetstream.New(onc)
		if err != nil {
			t.Fatal(err)
		}
		grants := make([]*natslock.Lock, len(attacks))
		for i := range attacks {
			if grants[i], err = holder.TryLock(ctx, key(i), time.Minute); err != nil {
				t.Fatalf("TryLock: %v", err)
			}
		}
		attackErrs := parallel(len(attacks), func(i int) error {
			actx, cancel := context.WithTimeout(ctx, attackTimeout)
			defer cancel()
			return attacks[i].run(actx, onc, ojs, key(i), grants[i].Token())
		})
		seconds := make([]*natslock.Lock, len(attacks))
		rivalErrs := parallel(len(attacks), func(i int) (err error) {
			rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			if seconds[i], err = rival.Lock(rctx, key(i), time.Minute); err == nil {
				return nil
			}
			// A marker with a TTL vanishes without an event to wake
			// a waiter; a TryLock then finds the key absent.
			seconds[i], err = rival.TryLock(ctx, key(i), time.Minute)
			return err
		})
		for i, a := range attacks {
			first, second := grants[i], seconds[i]
			refresh := first.Refresh(ctx, 0)
			vulnerable := d.lets(a.name) && !a.refused
			switch {
			case !vulnerable && (d.refuses || a.refused) && attackErrs[i] == nil:
				t.Errorf("%s: the attack was accepted; want it refused", a.name)
			case !vulnerable && second != nil:
				t.Errorf("%s: a second holder was granted (token %d) while the first (token %d) is live", a.name, second.Token(), first.Token())
			case !vulnerable && !errors.Is(rivalErrs[i], natslock.ErrLocked):
				t.Errorf("%s: the second node: got %v; want ErrLocked (still held)", a.name, rivalErrs[i])
			case !vulnerable && refresh != nil:
				t.Errorf("%s: the holder's Refresh: got %v; want nil (still held)", a.name, refresh)
			case vulnerable && second == nil:
				t.Errorf("%s: no second holder (attack: %v; second node: %v); want the attack to work without permissions", a.name, attackErrs[i], rivalErrs[i])
			case vulnerable && second.Token() <= first.Token():
				t.Errorf("%s: second token %d after %d; want larger", a.name, second.Token(), first.Token())
			case vulnerable && !errors.Is(refresh, natslock.ErrNotHeld):
				t.Errorf("%s: the first holder's Refresh: got %v; want ErrNotHeld", a.name, refresh)
			}
		}
		for i, a := range attacks {
			if d.lets(a.name) && !a.refused {
				continue
			}
			if err := grants[i].Unlock(ctx); err != nil {
				t.Fatalf("Unlock: %v", err)
			}
			next, err := rival.TryLock(ctx, key(i), time.Minute)
			if err != nil || next.Token() <= grants[i].Token() {
				t.Fatalf("%s: grant after Unlock: got %v, %v; want a token above %d", a.name, next, err, grants[i].Token())
			}
		}
		switch {
		case d.lets(inboxSubscribe):
			expectRepliesRead(ctx, t, onc, holder)
		case d.refuses:
			expectDenied(t, onc, oerrs, "_INBOX_warp.>")
		}
	})
}

// expectRepliesRead subscribes nc to Warp's inbox prefix and fails unless
// it reads the reply to a lock request of l's.
func expectRepliesRead(ctx context.Context, t *testing.T, nc *nats.Conn, l *natslock.Locker) {
	t.Helper()
	sub, err := nc.SubscribeSync("_INBOX_warp.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.TryLock(ctx, "probe", time.Minute); err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	if _, err := sub.NextMsg(5 * time.Second); err != nil {
		t.Fatalf("no reply to Warp's lock request read on _INBOX_warp.>: %v; want it read without the subscribe line", err)
	}
}

// TestThirdClientDeletesBucket: deleting the lock bucket is refused with
// the permissions of docs/security.md and in a dedicated account; without
// them (or without their stream lines) it succeeds, and a Locker that
// creates the bucket again grants a held name with a token that is not
// larger than the live grant's.
func TestThirdClientDeletesBucket(t *testing.T) {
	t.Parallel()
	forEachDeployment(t, func(t *testing.T, d deployment, srv *natsbus.Server) {
		ctx := bounded(t, 20*time.Second)
		first, err := lockerAs(t, srv).TryLock(ctx, "orders", time.Minute)
		if err != nil {
			t.Fatalf("TryLock: %v", err)
		}
		onc, _ := connectOther(t, srv)
		actx, cancel := context.WithTimeout(ctx, attackTimeout)
		defer cancel()
		err = apiRequest(actx, onc, "$JS.API.STREAM.DELETE.KV_"+bucket, nil)
		if !d.lets(bucketDelete) {
			if err == nil {
				t.Fatal("the bucket's deletion was accepted")
			}
			if err := first.Refresh(ctx, 0); err != nil {
				t.Fatalf("the holder's Refresh: got %v; want nil", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("delete without permissions: %v", err)
		}
		second, err := recreated(t, srv).TryLock(ctx, "orders", time.Minute)
		if err != nil || second.Token() > first.Token() {
			t.Fatalf("after the deletion: got %v, %v; want a grant whose token is not above %d", second, err, first.Token())
		}
	})
}

// recreated is lockerAs right after the bucket's stream was deleted: the
// server removes the stream's store after it answers the deletion, and
// creating the stream again meanwhile fails ("error creating store for
// stream", seen under load): New tries again for 5 s, and the test calls
// New again for up to 10 s.
func recreated(t *testing.T, srv *natsbus.Server) *natslock.Locker {
	t.Helper()
	js, err := jetstream.New(dialWarp(t, srv).Conn())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l, err := natslock.New(ctx, js, natslock.Config{})
		cancel()
		if err == nil {
			t.Cleanup(func() { _ = l.Close() })
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("New after the bucket's deletion: %v", err)
		}
		<-time.After(50 * time.Millisecond)
	}
}

// lockerAs returns a Locker on a new connection as Warp's user, with
// Warp's inbox prefix.
func lockerAs(t *testing.T, srv *natsbus.Server) *natslock.Locker {
	t.Helper()
	js, err := jetstream.New(dialWarp(t, srv).Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := natslock.New(ctx, js, natslock.Config{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// expectDenied subscribes nc to subject and waits, bounded, for the
// server's permissions violation.
func expectDenied(t *testing.T, nc *nats.Conn, errs <-chan error, subject string) {
	t.Helper()
	if _, err := nc.SubscribeSync(subject); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	expectViolation(t, errs, "Permissions Violation for Subscription to \""+subject)
}

// expectViolation waits, bounded, for asynchronous errors holding each of
// wants, in any order.
func expectViolation(t *testing.T, errs <-chan error, wants ...string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for len(wants) > 0 {
		select {
		case err := <-errs:
			wants = slices.DeleteFunc(wants, func(w string) bool { return strings.Contains(err.Error(), w) })
		case <-deadline:
			t.Fatalf("no %q", wants)
		}
	}
}

func key(i int) string { return fmt.Sprintf("k%d", i) }

// parallel runs f(0) to f(n-1) at once and returns their errors.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errs
}
