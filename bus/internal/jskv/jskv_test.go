package jskv

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/internal/natstest"
)

var errInvalid = errors.New("invalid")

// CheckBucket accepts 1 to MaxBucketLen characters of [a-zA-Z0-9_-] and
// refuses anything else with the package's sentinel.
func TestCheckBucket(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "warp_locks", "A-z_0-9", strings.Repeat("b", MaxBucketLen)} {
		if err := CheckBucket(name, "pkg", errInvalid); err != nil {
			t.Errorf("CheckBucket(%.20q…) = %v; want nil", name, err)
		}
	}
	for _, name := range []string{"", "a.b", "a b", "a*", "ü", strings.Repeat("b", MaxBucketLen+1)} {
		err := CheckBucket(name, "pkg", errInvalid)
		if !errors.Is(err, errInvalid) || !strings.HasPrefix(err.Error(), "pkg: bucket ") {
			t.Errorf("CheckBucket(%.20q…) = %v; want a pkg error wrapping the sentinel", name, err)
		}
	}
}

// MaxBucketLen is the server's own limit: a bucket that long opens, one
// byte longer the server refuses.
func TestMaxBucketLenIsTheServers(t *testing.T) {
	t.Parallel()
	_, js := natstest.Connect(t, natstest.StartJetStream(t, nil))
	ctx := context.Background()
	b := Bucket{Name: strings.Repeat("b", MaxBucketLen), Storage: jetstream.MemoryStorage, Replicas: 1, MarkerTTL: time.Second}
	if _, _, err := Open(ctx, js, b, "pkg", errInvalid); err != nil {
		t.Fatalf("Open of a %d-byte bucket: %v", MaxBucketLen, err)
	}
	long := jetstream.KeyValueConfig{Bucket: strings.Repeat("b", MaxBucketLen+1), Storage: jetstream.MemoryStorage}
	if _, err := js.CreateKeyValue(ctx, long); err == nil {
		t.Fatalf("the server accepted a %d-byte bucket; MaxBucketLen is too small", MaxBucketLen+1)
	}
}

// RoundTTL rounds up to whole seconds, at least one, and refuses a
// negative TTL or one above MaxTTL instead of wrapping: a TTL within a
// second of math.MaxInt64 used to come out as 1s.
func TestRoundTTL(t *testing.T) {
	t.Parallel()
	tests := []struct{ ttl, want time.Duration }{
		{0, time.Second},
		{time.Nanosecond, time.Second},
		{time.Second, time.Second},
		{1500 * time.Millisecond, 2 * time.Second},
		{MaxTTL - time.Second + 1, MaxTTL},
		{MaxTTL, MaxTTL},
	}
	for _, tt := range tests {
		got, err := RoundTTL(tt.ttl, errInvalid)
		if err != nil || got != tt.want {
			t.Errorf("RoundTTL(%v) = %v, %v; want %v", tt.ttl, got, err, tt.want)
		}
	}
	for _, ttl := range []time.Duration{-1, math.MinInt64, MaxTTL + 1, math.MaxInt64 - time.Second + 2, math.MaxInt64} {
		if got, err := RoundTTL(ttl, errInvalid); !errors.Is(err, errInvalid) {
			t.Errorf("RoundTTL(%d) = %v, %v; want an error wrapping the sentinel", ttl, got, err)
		}
	}
}

// storeFailing is a JetStream whose first failures creations of a bucket
// fail as the server's do while a deleted bucket's files are still being
// removed ("error creating store for stream"), or with err if set.
type storeFailing struct {
	jetstream.JetStream
	failures int
	err      *jetstream.APIError
	calls    int
}

func (s *storeFailing) CreateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	s.calls++
	if s.calls <= s.failures {
		if s.err != nil {
			return nil, s.err
		}
		return nil, &jetstream.APIError{Code: 500, ErrorCode: 10049, Description: "error creating store for stream"}
	}
	return s.JetStream.CreateKeyValue(ctx, cfg)
}

// A bucket the server fails to create for want of a store (a bucket of
// that name deleted a moment before) is created again after a short
// wait, for up to storeRetryFor; any other refusal is returned at once,
// and so is the context's end.
func TestOpenRetriesAStoreNotYetFree(t *testing.T) {
	t.Parallel()
	srv := natstest.StartJetStream(t, nil)
	b := func(name string) Bucket { return Bucket{Name: name, MarkerTTL: time.Second} }
	t.Run("transient", func(t *testing.T) {
		_, js := natstest.Connect(t, srv)
		f := &storeFailing{JetStream: js, failures: 2}
		if _, _, err := Open(context.Background(), f, b("transient"), "pkg", errInvalid); err != nil || f.calls != 3 {
			t.Fatalf("Open after two store failures: %v after %d creations; want nil after 3", err, f.calls)
		}
	})
	t.Run("lasting", func(t *testing.T) {
		_, js := natstest.Connect(t, srv)
		f := &storeFailing{JetStream: js, failures: math.MaxInt}
		_, _, err := Open(context.Background(), f, b("lasting"), "pkg", errInvalid)
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10049 {
			t.Fatalf("Open with the store failing for good: %v; want the server's error", err)
		}
		// 50 ms doubling to 1 s, none starting 5 s after the first: 8 in all.
		if f.calls < 5 || f.calls > 9 {
			t.Fatalf("%d creations with the store failing for good; want about 8", f.calls)
		}
	})
	t.Run("other refusal", func(t *testing.T) {
		_, js := natstest.Connect(t, srv)
		f := &storeFailing{JetStream: js, failures: 1, err: &jetstream.APIError{Code: 500, ErrorCode: 10049, Description: "replicas > 1 not supported in non-clustered mode"}}
		if _, _, err := Open(context.Background(), f, b("other"), "pkg", errInvalid); err == nil || f.calls != 1 {
			t.Fatalf("Open refused otherwise: %v after %d creations; want the error after 1", err, f.calls)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		_, js := natstest.Connect(t, srv)
		f := &storeFailing{JetStream: js, failures: math.MaxInt}
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
		defer cancel()
		_, _, err := Open(ctx, f, b("cancelled"), "pkg", errInvalid)
		if !errors.Is(err, context.DeadlineExceeded) || f.calls > 3 {
			t.Fatalf("Open whose context ends while the store fails: %v after %d creations; want the context's error after 2 or 3", err, f.calls)
		}
	})
}
