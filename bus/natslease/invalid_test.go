package natslease_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natslease"
	"github.com/warpcache/warp/internal/natstest"
)

func TestInvalid(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 10*time.Second)
	lease, err := n.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	for _, id := range []string{"", "abc", "0123456789ABCDEF", "0123456789abcdefa", "0123456789abcde.", "0123456789abcd.>"} {
		if err := n.l.Attach(ctx, id, "k"); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("Attach(%q): got %v; want ErrInvalid", id, err)
		}
		if err := n.l.KeepAlive(ctx, id, 0); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("KeepAlive(%q): got %v; want ErrInvalid", id, err)
		}
		if err := n.l.Revoke(ctx, id); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("Revoke(%q): got %v; want ErrInvalid", id, err)
		}
	}
	for _, key := range []string{"", strings.Repeat("k", natslease.MaxKeyLen+1)} {
		if err := n.l.Attach(ctx, lease.ID, key); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("Attach(key of %d bytes): got %v; want ErrInvalid", len(key), err)
		}
	}
	if _, err := n.l.Grant(ctx, -time.Second); !errors.Is(err, natslease.ErrInvalid) {
		t.Errorf("Grant(-1s): got %v; want ErrInvalid", err)
	}
	if err := n.l.KeepAlive(ctx, lease.ID, -time.Second); !errors.Is(err, natslease.ErrInvalid) {
		t.Errorf("KeepAlive(-1s): got %v; want ErrInvalid", err)
	}

	noop := func(string, []string) {}
	configs := []natslease.Config{
		{Bucket: "a.b"},
		{Bucket: strings.Repeat("b", 253)}, // longer than the server allows
		{MarkerTTL: 500 * time.Millisecond},
		{DefaultTTL: -time.Second},
		{Replicas: -1},
		{MaxAttachments: -1},
		{MaxAttachments: 1<<20 + 1},
		{MaxLeases: -1},
		{MaxLeases: 1<<24 + 1},
	}
	for _, cfg := range configs {
		if _, err := natslease.New(ctx, n.js, cfg, noop); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("New(%+v): got %v; want ErrInvalid", cfg, err)
		}
	}
	if _, err := natslease.New(ctx, nil, natslease.Config{}, noop); !errors.Is(err, natslease.ErrInvalid) {
		t.Errorf("New(nil JetStream): got %v; want ErrInvalid", err)
	}
	if _, err := natslease.New(ctx, n.js, natslease.Config{}, nil); !errors.Is(err, natslease.ErrInvalid) {
		t.Errorf("New(nil callback): got %v; want ErrInvalid", err)
	}
	// A bucket that exists without per-key TTLs cannot hold leases.
	if _, err := n.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "plain"}); err != nil {
		t.Fatalf("CreateKeyValue: %v", err)
	}
	if _, err := natslease.New(ctx, n.js, natslease.Config{Bucket: "plain"}, noop); !errors.Is(err, natslease.ErrInvalid) {
		t.Errorf("New on a bucket without TTLs: got %v; want ErrInvalid", err)
	}
}

// TestDefaultTTL: ttl 0 means Config.DefaultTTL; every TTL is rounded up
// to whole seconds.
func TestDefaultTTL(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslease.Config{DefaultTTL: 1500 * time.Millisecond})
	ctx := bounded(t, 10*time.Second)
	tests := []struct{ ttl, want time.Duration }{
		{0, 2 * time.Second},
		{time.Nanosecond, time.Second},
		{time.Second, time.Second},
		{2100 * time.Millisecond, 3 * time.Second},
	}
	for _, tt := range tests {
		lease, err := n.l.Grant(ctx, tt.ttl)
		if err != nil {
			t.Fatalf("Grant(%v): %v", tt.ttl, err)
		}
		if lease.TTL != tt.want {
			t.Errorf("Grant(%v): got TTL %v; want %v", tt.ttl, lease.TTL, tt.want)
		}
		if err := n.l.Revoke(ctx, lease.ID); err != nil {
			t.Errorf("Revoke: %v", err)
		}
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 10*time.Second)
	lease, err := n.l.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	for range 2 {
		if err := n.l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, err := n.l.Grant(ctx, 0); !errors.Is(err, natslease.ErrClosed) {
		t.Errorf("Grant after Close: got %v; want ErrClosed", err)
	}
	if err := n.l.Attach(ctx, lease.ID, "k"); !errors.Is(err, natslease.ErrClosed) {
		t.Errorf("Attach after Close: got %v; want ErrClosed", err)
	}
	if err := n.l.KeepAlive(ctx, lease.ID, 0); !errors.Is(err, natslease.ErrClosed) {
		t.Errorf("KeepAlive after Close: got %v; want ErrClosed", err)
	}
	if err := n.l.Revoke(ctx, lease.ID); !errors.Is(err, natslease.ErrClosed) {
		t.Errorf("Revoke after Close: got %v; want ErrClosed", err)
	}
	// The lease outlives the node's Leases: another node revokes it.
	m := newNode(t, srv, natslease.Config{})
	if err := m.l.Revoke(ctx, lease.ID); err != nil {
		t.Errorf("Revoke on another node: %v", err)
	}
	m.expectRevoke(t, "other node", lease.ID, nil)
	select {
	case r := <-n.revokes:
		t.Errorf("closed node reported %s", r.id)
	default:
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslease.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := n.l.Grant(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Grant: got %v; want context.Canceled", err)
	}
	if _, err := natslease.New(ctx, n.js, natslease.Config{Bucket: "other"}, func(string, []string) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("New: got %v; want context.Canceled", err)
	}
}

// TestTTLAboveMax: a TTL above MaxTTL, such as time.Duration(math.MaxInt64)
// meant as "forever", is refused with ErrInvalid by Grant, KeepAlive and
// New; MaxTTL itself is granted and kept alive whole. The rounding used to
// wrap such a TTL to 1s, so a "forever" lease ended after a second.
func TestTTLAboveMax(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 10*time.Second)
	lease, err := n.l.Grant(ctx, natslease.MaxTTL)
	if err != nil || lease.TTL != natslease.MaxTTL {
		t.Fatalf("Grant(MaxTTL) = %+v, %v; want TTL %v", lease, err, natslease.MaxTTL)
	}
	for _, ttl := range []time.Duration{natslease.MaxTTL + 1, math.MaxInt64 - time.Second + 2, math.MaxInt64} {
		if l, err := n.l.Grant(ctx, ttl); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("Grant(%d) = %+v, %v; want ErrInvalid", ttl, l, err)
		}
		if err := n.l.KeepAlive(ctx, lease.ID, ttl); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("KeepAlive(%d) = %v; want ErrInvalid", ttl, err)
		}
		if _, err := natslease.New(ctx, n.js, natslease.Config{DefaultTTL: ttl}, func(string, []string) {}); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("New with DefaultTTL %d = %v; want ErrInvalid", ttl, err)
		}
	}
	if got := leaseTTL(t, ctx, n, lease.ID); got != natslease.MaxTTL {
		t.Errorf("after refused KeepAlives the server holds TTL %v; want %v", got, natslease.MaxTTL)
	}
	for _, ttl := range []time.Duration{natslease.MaxTTL, 0} {
		if err := n.l.KeepAlive(ctx, lease.ID, ttl); err != nil {
			t.Fatalf("KeepAlive(%v): %v", ttl, err)
		}
		if got := leaseTTL(t, ctx, n, lease.ID); got != natslease.MaxTTL {
			t.Errorf("KeepAlive(%v): the server holds TTL %v; want %v", ttl, got, natslease.MaxTTL)
		}
	}
}

// TestMalformedLeaseEntry: a lease entry whose TTL another writer put out
// of range (one that overflowed a Duration; one above MaxTTL; zero) is
// refused by KeepAlive and Attach with ErrInvalid and left as it was,
// TTL and all. KeepAlive(ctx, id, 0) used to ignore the decoding error and
// rewrite such an entry without a TTL, so that it never expired.
func TestMalformedLeaseEntry(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	n := newNode(t, srv, natslease.Config{})
	ctx := bounded(t, 10*time.Second)
	values := []string{"9223372037", strconv.FormatInt(int64(natslease.MaxTTL/time.Second)+1, 10), "0"}
	for i, v := range values {
		id := fmt.Sprintf("00000000000000a%d", i)
		m := &nats.Msg{Subject: "$KV." + natslease.DefaultBucket + ".lease." + id, Data: []byte(v)}
		ack, err := n.js.PublishMsg(ctx, m, jetstream.WithMsgTTL(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.l.KeepAlive(ctx, id, 0); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("KeepAlive(%s = %q, 0) = %v; want ErrInvalid", id, v, err)
		}
		if err := n.l.Attach(ctx, id, "k"); !errors.Is(err, natslease.ErrInvalid) {
			t.Errorf("Attach(%s = %q) = %v; want ErrInvalid", id, v, err)
		}
		last := lastLeaseMsg(t, ctx, n, id)
		if last.Sequence != ack.Sequence || last.Header.Get(jetstream.MsgTTLHeader) != "1m0s" {
			t.Errorf("lease %s = %q: entry rewritten (sequence %d, Nats-TTL %q); want it left at %d with 1m0s",
				id, v, last.Sequence, last.Header.Get(jetstream.MsgTTLHeader), ack.Sequence)
		}
	}
}

// lastLeaseMsg returns the last message stored for lease id.
func lastLeaseMsg(t *testing.T, ctx context.Context, n *node, id string) *jetstream.RawStreamMsg {
	t.Helper()
	s, err := n.js.Stream(ctx, "KV_"+natslease.DefaultBucket)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	m, err := s.GetLastMsgForSubject(ctx, "$KV."+natslease.DefaultBucket+".lease."+id)
	if err != nil {
		t.Fatalf("GetLastMsgForSubject(%s): %v", id, err)
	}
	return m
}

// leaseTTL returns the Nats-TTL the server holds for lease id.
func leaseTTL(t *testing.T, ctx context.Context, n *node, id string) time.Duration {
	t.Helper()
	m := lastLeaseMsg(t, ctx, n, id)
	d, err := time.ParseDuration(m.Header.Get(jetstream.MsgTTLHeader))
	if err != nil {
		t.Fatalf("lease %s: Nats-TTL %q: %v", id, m.Header.Get(jetstream.MsgTTLHeader), err)
	}
	return d
}
