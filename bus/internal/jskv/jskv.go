// Package jskv holds what Warp's JetStream KV users (bus/natslock and
// bus/natslease) share: the bucket-name rule, opening a bucket with
// per-key TTLs, telling a failed compare-and-set from other errors,
// wrapping errors with the context's, bounding TTLs ([MaxTTL]) and
// rounding them to the server's whole seconds, and the Gate that admits calls until Close.
package jskv

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnsuitable: an existing bucket has no per-key TTLs or keeps history.
var ErrUnsuitable = errors.New("jskv: bucket without per-key TTLs or with history")

// MaxBucketLen is the longest bucket name the server accepts: bucket b is
// the stream "KV_b", and stream names are at most 255 bytes.
const MaxBucketLen = 255 - len("KV_")

var bucketRe = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// CheckBucket returns nil if name is a bucket name the server accepts:
// 1 to MaxBucketLen characters of [a-zA-Z0-9_-]. Otherwise its error is
// prefixed with pkg and wraps invalid, the package's sentinel for bad
// input.
func CheckBucket(name, pkg string, invalid error) error {
	if len(name) > MaxBucketLen || !bucketRe.MatchString(name) {
		return fmt.Errorf("%s: bucket %q: want 1 to %d characters of [a-zA-Z0-9_-]: %w", pkg, name, MaxBucketLen, invalid)
	}
	return nil
}

// Bucket describes a KV bucket with per-key TTLs and a history of 1.
type Bucket struct {
	Name, Description string
	Storage           jetstream.StorageType
	Replicas          int
	MarkerTTL         time.Duration
}

// Open opens b for package pkg, creating it if missing (concurrent creators
// are fine), and returns it with its marker TTL. Errors are prefixed with
// pkg; an existing bucket that does not fit returns an error wrapping
// ErrUnsuitable and invalid, the package's sentinel for bad input.
func Open(ctx context.Context, js jetstream.JetStream, b Bucket, pkg string, invalid error) (jetstream.KeyValue, time.Duration, error) {
	kv, marker, err := open(ctx, js, b)
	switch {
	case errors.Is(err, ErrUnsuitable):
		return nil, 0, fmt.Errorf("%s: %w: %w", pkg, invalid, err)
	case err != nil:
		return nil, 0, fmt.Errorf("%s: %w", pkg, err)
	}
	return kv, marker, nil
}

func open(ctx context.Context, js jetstream.JetStream, b Bucket) (jetstream.KeyValue, time.Duration, error) {
	kv, err := js.KeyValue(ctx, b.Name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		cfg := jetstream.KeyValueConfig{
			Bucket:         b.Name,
			Description:    b.Description,
			History:        1,
			Storage:        b.Storage,
			Replicas:       b.Replicas,
			LimitMarkerTTL: b.MarkerTTL,
		}
		kv, err = js.CreateKeyValue(ctx, cfg)
		// A bucket deleted a moment ago may still have its files on the
		// server, which then fails to create the new one's store: try
		// again for a while.
		deadline := time.Now().Add(storeRetryFor)
		for wait := storeRetryFirst; storeFailed(err) && time.Now().Add(wait).Before(deadline); wait = min(2*wait, storeRetryMax) {
			select {
			case <-ctx.Done():
				return nil, 0, fmt.Errorf("bucket %q: %w (after %w)", b.Name, ctx.Err(), err)
			case <-time.After(wait):
			}
			kv, err = js.CreateKeyValue(ctx, cfg)
		}
		if errors.Is(err, jetstream.ErrBucketExists) { // created concurrently
			kv, err = js.KeyValue(ctx, b.Name)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("bucket %q: %w", b.Name, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("bucket %q: %w", b.Name, err)
	}
	if st.LimitMarkerTTL() <= 0 || st.History() != 1 {
		return nil, 0, fmt.Errorf("bucket %q has LimitMarkerTTL %v, history %d; want > 0 and 1: %w",
			b.Name, st.LimitMarkerTTL(), st.History(), ErrUnsuitable)
	}
	return kv, st.LimitMarkerTTL(), nil
}

// The retries of a bucket's creation that the server refused for want of
// a store: the first after storeRetryFirst, each wait twice the one before
// up to storeRetryMax, none starting storeRetryFor after the first try.
const (
	storeRetryFirst = 50 * time.Millisecond
	storeRetryMax   = time.Second
	storeRetryFor   = 5 * time.Second
)

// storeFailed reports whether err is the server's refusal to create a
// stream because it could not create its store (JSStreamCreateErrF, code
// 10049, "error creating store for stream"): seen when a bucket is
// created again right after its deletion, while the server still removes
// the old stream's files; or for good, with a disk full or unwritable.
func storeFailed(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrCodeStreamCreate &&
		strings.Contains(apiErr.Description, "error creating store for stream")
}

// jsErrCodeStreamCreate is the server's generic stream creation error
// (JSStreamCreateErrF), which nats.go does not name.
const jsErrCodeStreamCreate jetstream.ErrorCode = 10049

// IsConflict reports whether err is a failed compare-and-set: the key's
// last revision was not the expected one. Single-replica streams report
// code 10071, replicated ones 10164.
func IsConflict(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// OpError wraps a server or connection error of operation op on what, with
// the package prefix pkg; if ctx ended meanwhile, the result also wraps
// ctx.Err(), whatever the client returned.
func OpError(ctx context.Context, pkg, op, what string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	// A context a Gate ended carries the package's closed error as its
	// cause.
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		err = fmt.Errorf("%w: %w", cause, err)
	}
	return fmt.Errorf("%s: %s %s: %w", pkg, op, what, err)
}

// MaxTTL is the longest TTL RoundTTL accepts: 100 years, in whole
// seconds. The bound keeps the rounding from overflowing a Duration (a TTL
// within a second of math.MaxInt64 would wrap negative), and keeps the
// server's expiry time, the entry's timestamp in nanoseconds since 1970
// plus the TTL, inside an int64 until about the year 2162.
const MaxTTL = 100 * 365 * 24 * time.Hour

// RoundTTL rounds ttl up to whole seconds, the server's TTL granularity,
// and to at least one second, so that nothing expires earlier than asked.
// A ttl that is negative or above MaxTTL is refused with an error wrapping
// invalid, the package's sentinel for bad input (callers put their
// prefix in front); it is never shortened.
func RoundTTL(ttl time.Duration, invalid error) (time.Duration, error) {
	if ttl < 0 || ttl > MaxTTL {
		return 0, fmt.Errorf("ttl %v not in [0, %v]: %w", ttl, MaxTTL, invalid)
	}
	return max(time.Second, (ttl + time.Second - 1).Truncate(time.Second)), nil
}

// Watch opens a watch of keys on kv on a context of its own under ctx,
// which end cancels: end the watch with [EndWatch].
func Watch(ctx context.Context, kv jetstream.KeyValue, keys string, opts ...jetstream.WatchOpt) (w jetstream.KeyWatcher, end context.CancelFunc, err error) {
	return WatchFiltered(ctx, kv, []string{keys}, opts...)
}

// WatchFiltered is [Watch] of the keys matching any of filters.
func WatchFiltered(ctx context.Context, kv jetstream.KeyValue, filters []string, opts ...jetstream.WatchOpt) (w jetstream.KeyWatcher, end context.CancelFunc, err error) {
	ctx, end = context.WithCancel(ctx)
	if w, err = kv.WatchFiltered(ctx, filters, opts...); err != nil {
		end()
		return nil, nil, err
	}
	return w, end, nil
}

// drainTimeout bounds EndWatch's wait for an ended watch's channel to
// close.
const drainTimeout = 5 * time.Second

// EndWatch ends a watch opened with a context of its own, which end
// cancels: the client then stops it at once (and deletes its consumer in
// the background), and EndWatch drains it for at most drainTimeout (the
// client's delivery blocks on a full channel). Stop would wait for the
// consumer's deletion, up to 5 s while the server is cut off.
func EndWatch(end context.CancelFunc, w jetstream.KeyWatcher) {
	end()
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	for {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				return
			}
		case <-t.C:
			return
		}
	}
}
