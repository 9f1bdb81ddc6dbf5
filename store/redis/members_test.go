package redis_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/redis"
)

// TestMembersHash: a cluster's members live in the hash named Prefix, NUL,
// "members:", cluster (docs/stores.md), which no key can name and Scan
// never visits.
func TestMembersHash(t *testing.T) {
	t.Parallel()
	c := testClient(t, nil)
	s, prefix := newPrefix(t, c, redis.Config{})
	ctx := t.Context()
	inc, err := s.Join(ctx, "c", "a", 7)
	must(t, err)
	_, err = s.Set(ctx, "k", []byte("v"), store.Write{Guard: store.Guard{Cluster: "c", Node: "a", Incarnation: inc}})
	must(t, err)
	got, err := c.HGetAll(ctx, prefix+"\x00members:c").Result()
	must(t, err)
	want := map[string]string{"": "00000000000000000007", "a": "00000000000000000007:00000000000000000000"}
	if len(got) != len(want) || got[""] != want[""] || got["a"] != want["a"] {
		t.Fatalf("members hash = %q; want %q", got, want)
	}
	for _, key := range []string{"\x00members:c", "\x00", "\x00x"} {
		_, err := s.Set(ctx, key, []byte("v"), store.Write{})
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Set(%q) = %v; want ErrInvalid (reserved)", key, err)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Get(%q) = %v; want ErrInvalid (reserved)", key, err)
		}
	}
	for _, p := range []string{"", "\x00", "\x00members:"} {
		n := 0
		must(t, s.Scan(ctx, p, func(key string, _ store.Item[[]byte]) error {
			if key != "k" {
				t.Errorf("Scan(%q) visited %q", p, key)
			}
			n++
			return nil
		}))
		if want := map[string]int{"": 1}[p]; n != want {
			t.Fatalf("Scan(%q) visited %d keys; want %d", p, n, want)
		}
	}
}

// TestStoredVersionAboveMax: a version above merge.MaxVersion that got
// into a hash by other means is an error wherever it is read, and no write
// moves it.
func TestStoredVersionAboveMax(t *testing.T) {
	t.Parallel()
	c := testClient(t, nil)
	s, prefix := newPrefix(t, c, redis.Config{})
	ctx := t.Context()
	_, err := s.Set(ctx, "k", []byte("v"), store.Write{})
	must(t, err)
	must(t, c.HSet(ctx, prefix+"k", "ver", "04611686018427387904").Err()) // MaxVersion+1
	calls := map[string]func() error{
		"Get":     func() error { _, err := s.Get(ctx, "k"); return err },
		"Version": func() error { _, err := s.Version(ctx, "k"); return err },
		"Scan":    func() error { return s.Scan(ctx, "", func(string, store.Item[[]byte]) error { return nil }) },
		"Set":     func() error { _, err := s.Set(ctx, "k", []byte("w"), store.Write{}); return err },
		"Commit": func() error {
			_, err := s.Commit(ctx, []store.Op[[]byte]{{Kind: store.OpSet, Key: "k"}})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, store.ErrInvalid) || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Errorf("%s of a version above MaxVersion = %v; want a redis: error wrapping ErrInvalid", name, err)
		}
	}
}

// TestStoredValueTooLarge: a value above Config.MaxValueSize that got into
// a hash by other means is an error wrapping store.ErrInvalid wherever it
// is read, not a value; one of MaxValueSize bytes reads back. Get used to
// return a 1 MiB value with MaxValueSize 1024.
func TestStoredValueTooLarge(t *testing.T) {
	t.Parallel()
	c := testClient(t, nil)
	const max = 1024
	s, prefix := newPrefix(t, c, redis.Config{MaxValueSize: max})
	ctx := t.Context()
	for k, size := range map[string]int{"big": 1 << 20, "over": max + 1, "full": max} {
		_, err := s.Set(ctx, k, []byte("v"), store.Write{})
		must(t, err)
		must(t, c.HSet(ctx, prefix+k, "v", strings.Repeat("x", size)).Err())
	}
	for _, k := range []string{"big", "over"} {
		if it, err := s.Get(ctx, k); !errors.Is(err, store.ErrInvalid) || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Errorf("Get(%s) = %d bytes, %v; want a redis: error wrapping ErrInvalid", k, len(it.Value), err)
		}
		err := s.Scan(ctx, k, func(string, store.Item[[]byte]) error { return nil })
		if !errors.Is(err, store.ErrInvalid) || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Errorf("Scan(%s) = %v; want a redis: error wrapping ErrInvalid", k, err)
		}
	}
	if it, err := s.Get(ctx, "full"); err != nil || len(it.Value) != max {
		t.Errorf("Get of a value of MaxValueSize bytes = %d bytes, %v; want %d, nil", len(it.Value), err, max)
	}
}

// TestJoinNeedsContextTimeouts: a client whose calls run past their
// context's deadline (go-redis without ContextTimeoutEnabled: up to its
// read timeout) cannot anchor a membership, since a strong write's store
// write must end within its bound; Join refuses it with ErrInvalid and
// writes nothing.
func TestJoinNeedsContextTimeouts(t *testing.T) {
	t.Parallel()
	c := testClient(t, nil)
	opt := *c.Options()
	opt.ContextTimeoutEnabled = false
	loose := goredis.NewClient(&opt)
	t.Cleanup(func() { _ = loose.Close() })
	s, prefix := newPrefix(t, loose, redis.Config{})
	_, err := s.Join(t.Context(), "c", "a", 0)
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "ContextTimeoutEnabled") {
		t.Fatalf("Join on a client without ContextTimeoutEnabled = %v; want ErrInvalid naming the option", err)
	}
	if n, err := c.Exists(t.Context(), prefix+"\x00members:c").Result(); err != nil || n != 0 {
		t.Fatalf("members hash after a refused Join: exists %d, %v; want none", n, err)
	}
}

// TestRenewSkipsRecordsNoJoinWrote: records of the members hash that no
// Join could have written (put there by hand, a bug or a hostile writer: a
// node id over store.MaxIDLen, one with a NUL, numbers not in 20 digits,
// not a record at all) are left out of Renew's list, and fail no renewal:
// taken into a view, such a member could never answer nor be expelled
// (remove.lua matches the 20-digit record), and every lease would stay
// off.
func TestRenewSkipsRecordsNoJoinWrote(t *testing.T) {
	t.Parallel()
	c, s, hash, inc := joinedA(t)
	ctx := t.Context()
	for node, rec := range map[string]string{
		strings.Repeat("x", store.MaxIDLen+1): "00000000000000000001:00000000000000000000",
		"nul\x00":                             "00000000000000000001:00000000000000000000",
		"short":                               "1:5",
		"garbage":                             "garbage",
		"zero":                                "00000000000000000000:00000000000000000000",
	} {
		must(t, c.HSet(ctx, hash, node, rec).Err())
	}
	ms, err := s.Renew(ctx, "c", "a", inc)
	must(t, err)
	if len(ms) != 1 || ms[0].Node != "a" {
		t.Fatalf("Renew listed %v; want only a", ms)
	}
}

// TestRenewRefusesMoreMembersThanJoinAdmits: fields beyond store.MaxMembers,
// written by something other than Join, fail Renew with ErrTooLarge before
// the script reads the hash (so a hash of any size costs one HLEN), and
// renew nothing: a list of MaxMembers of them would leave out members no
// node then waits for. Once they are gone, Renew lists the members again.
func TestRenewRefusesMoreMembersThanJoinAdmits(t *testing.T) {
	t.Parallel()
	c, s, hash, inc := joinedA(t)
	ctx := t.Context()
	before, err := c.HGet(ctx, hash, "a").Result()
	must(t, err)
	fields := make([]any, 0, 2*store.MaxMembers)
	for i := range store.MaxMembers {
		fields = append(fields, fmt.Sprintf("x%d", i), "00000000000000000001:00000000000000000000")
	}
	must(t, c.HSet(ctx, hash, fields...).Err())
	if _, err := s.Renew(ctx, "c", "a", inc); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Renew with %d members: %v; want ErrTooLarge", store.MaxMembers+1, err)
	}
	if after, err := c.HGet(ctx, hash, "a").Result(); err != nil || after != before {
		t.Fatalf("a's record after a refused Renew: %q, %v; want it unchanged, %q", after, err, before)
	}
	must(t, c.HDel(ctx, hash, "x0").Err())
	ms, err := s.Renew(ctx, "c", "a", inc)
	must(t, err)
	if len(ms) != store.MaxMembers {
		t.Fatalf("Renew listed %d members; want %d", len(ms), store.MaxMembers)
	}
}

// joinedA returns a client, a store under a prefix of its own, the key of
// its members hash of cluster "c", and the incarnation of member "a",
// joined there.
func joinedA(t *testing.T) (*goredis.Client, *redis.Store[[]byte], string, uint64) {
	t.Helper()
	c := testClient(t, nil)
	s, prefix := newPrefix(t, c, redis.Config{})
	inc, err := s.Join(t.Context(), "c", "a", 0)
	must(t, err)
	return c, s, prefix + "\x00members:c", inc
}
