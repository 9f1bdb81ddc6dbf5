package natslock

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/warpcache/warp/bus/internal/jskv"
)

var keyRe = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

// maxNameLen keeps the subject "$KV.<bucket>.<name>" well inside the
// server's limits.
const maxNameLen = 1024

// checkName reports whether name can be a KV key: the characters
// [-/_=.a-zA-Z0-9], at most 1024 bytes, no leading or trailing dot and no
// empty token ("..").
func checkName(name string) error {
	if len(name) > maxNameLen {
		return fmt.Errorf("natslock: name of %d bytes: at most %d: %w", len(name), maxNameLen, ErrInvalid)
	}
	ok := name != "" && keyRe.MatchString(name) &&
		name[0] != '.' && name[len(name)-1] != '.' && !strings.Contains(name, "..")
	if !ok {
		return fmt.Errorf("natslock: name %q: want [-/_=.a-zA-Z0-9]+ without empty dot-separated tokens: %w", name, ErrInvalid)
	}
	return nil
}

// MaxTTL is the longest TTL a lock accepts (100 years); a longer one,
// such as time.Duration(math.MaxInt64) meant as "forever", is refused with
// [ErrInvalid] rather than shortened.
const MaxTTL = jskv.MaxTTL

// leaseTTL resolves a caller's ttl: 0 means def, negative or above MaxTTL
// is invalid, and the result is rounded up to whole seconds, the server's
// TTL granularity, so that a lock never expires earlier than asked.
func leaseTTL(ttl, def time.Duration) (time.Duration, error) {
	if ttl == 0 {
		ttl = def
	}
	ttl, err := jskv.RoundTTL(ttl, ErrInvalid)
	if err != nil {
		return 0, fmt.Errorf("natslock: %w", err)
	}
	return ttl, nil
}
