package natslease

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warpcache/warp/bus/internal/jskv"
)

// MaxKeyLen is the longest key [Leases.Attach] accepts, in bytes; the same
// limit as Warp's keys.
const MaxKeyLen = 1024

// idLen is the length of a lease id: 16 lowercase hex digits (64 random
// bits).
const idLen = 16

// KV key layout: "lease.<id>" holds a lease, "attach.<id>.<enc(key)>" one
// attached key, enc being unpadded base64url, whose alphabet [-_a-zA-Z0-9]
// is valid in a KV key token, and "probe.<random id>.<slot>" one
// watcher's proofs that its watch delivers (see startProbes); a watcher
// watches only its own.
const (
	leasePrefix  = "lease."
	attachPrefix = "attach."
	probePrefix  = "probe."
)

var keyEnc = base64.RawURLEncoding

// newID returns a random lease id.
func newID() string {
	var b [idLen / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkID reports whether id has the form [Leases.Grant] gives.
func checkID(op, id string) error {
	ok := len(id) == idLen
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
	}
	if !ok {
		return fmt.Errorf("natslease: %s: id %q: want %d lowercase hex digits: %w", op, id, idLen, ErrInvalid)
	}
	return nil
}

// checkKey reports whether key can be attached: 1 to MaxKeyLen bytes.
func checkKey(id, key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("natslease: attach %s: key of %d bytes: want 1 to %d: %w", id, len(key), MaxKeyLen, ErrInvalid)
	}
	return nil
}

func leaseKey(id string) string { return leasePrefix + id }

func attachKey(id, key string) string {
	return attachPrefix + id + "." + keyEnc.EncodeToString([]byte(key))
}

func attachFilter(id string) string { return attachPrefix + id + ".>" }

// parseKV splits a KV key of the bucket into a lease id and, for an
// attachment, the attached key. ok is false for a key of another layout.
func parseKV(k string) (id, key string, attach, ok bool) {
	if rest, found := strings.CutPrefix(k, leasePrefix); found {
		return rest, "", false, checkID("watch", rest) == nil
	}
	rest, found := strings.CutPrefix(k, attachPrefix)
	if !found {
		return "", "", false, false
	}
	id, enc, found := strings.Cut(rest, ".")
	if !found || checkID("watch", id) != nil {
		return "", "", false, false
	}
	b, err := keyEnc.DecodeString(enc)
	if err != nil || len(b) == 0 {
		return "", "", false, false
	}
	return id, string(b), true, true
}

// MaxTTL is the longest TTL a lease accepts (100 years); a longer one,
// such as time.Duration(math.MaxInt64) meant as "forever", is refused with
// [ErrInvalid] rather than shortened.
const MaxTTL = jskv.MaxTTL

// resolveTTL resolves a caller's ttl: 0 means def, negative or above
// MaxTTL is invalid, and the result is rounded up to whole seconds, the
// server's TTL granularity, so that a lease never expires earlier than
// asked.
func resolveTTL(op string, ttl, def time.Duration) (time.Duration, error) {
	if ttl == 0 {
		ttl = def
	}
	ttl, err := jskv.RoundTTL(ttl, ErrInvalid)
	if err != nil {
		return 0, fmt.Errorf("natslease: %s: %w", op, err)
	}
	return ttl, nil
}

// The value of a lease entry is its TTL in whole seconds, so that Attach
// and KeepAlive on any node know it.
func encodeTTL(ttl time.Duration) []byte {
	return strconv.AppendInt(nil, int64(ttl/time.Second), 10)
}

// decodeTTL reads a lease entry's TTL: whole seconds in [1, MaxTTL], the
// range resolveTTL gives. Anything else (another writer's entry) is
// refused with ErrInvalid, never turned into a Duration that overflows.
func decodeTTL(b []byte) (time.Duration, error) {
	s, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || s < 1 || s > int64(MaxTTL/time.Second) {
		return 0, fmt.Errorf("natslease: lease entry %q: want a TTL of 1 to %d seconds: %w", b, int64(MaxTTL/time.Second), ErrInvalid)
	}
	return time.Duration(s) * time.Second, nil
}
