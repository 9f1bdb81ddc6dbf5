package redis

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store/internal/check"
)

var (
	//go:embed prelude.lua
	preludeLua string
	//go:embed write.lua
	writeLua string
	//go:embed commit.lua
	commitLua string
	//go:embed join.lua
	joinLua string
	//go:embed renew.lua
	renewLua string
	//go:embed remove.lua
	removeLua string

	// prelude, in front of the scripts that need it, defines ZERO, MAXV
	// (merge.MaxVersion) and inc.
	prelude = strings.Replace(preludeLua, "'MAXVERSION'", "'"+num(merge.MaxVersion)+"'", 1)

	// The scripts run with EVALSHA, falling back to EVAL when the server
	// does not have them cached.
	writeScript  = goredis.NewScript(prelude + writeLua)
	commitScript = goredis.NewScript(prelude + commitLua)
	joinScript   = goredis.NewScript(prelude + joinLua)
	renewScript  = goredis.NewScript(prelude + renewLua)
	removeScript = goredis.NewScript(removeLua)
)

// Script statuses, the first element of a script's reply.
const (
	statusOK        = 0
	statusConflict  = 1
	statusFenced    = 2
	statusOverflow  = 3
	statusNotMember = 4
	statusFull      = 5
	statusTooMany   = 6
)

// num formats a version or token for the scripts: 20 decimal digits, so
// that string order is numeric order.
func num[N ~uint64](n N) string {
	var b [numLen]byte
	return string(appendNum(b[:0], uint64(n)))
}

// zero is num(0).
const zero = "00000000000000000000"

// parseVersion parses a version the scripts or a hash of key returned; one
// above merge.MaxVersion is an error.
func parseVersion(op, key string, v any) (merge.Version, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("redis: %s %q: version %v is not a string", op, key, v)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("redis: %s %q: version %q: %w", op, key, s, err)
	}
	ver, err := check.Stored(n)
	if err != nil {
		return 0, fmt.Errorf("redis: %s %q: %w", op, key, err)
	}
	return ver, nil
}
