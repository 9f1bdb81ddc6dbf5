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
