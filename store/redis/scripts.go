package redis

import (
	_ "embed"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/merge"
)

var (
	//go:embed write.lua
	writeLua string
	//go:embed commit.lua
	commitLua string

	// The scripts run with EVALSHA, falling back to EVAL when the server
	// does not have them cached.
	writeScript  = goredis.NewScript(writeLua)
	commitScript = goredis.NewScript(commitLua)
)

// Script statuses, the first element of a script's reply.
const (
	statusOK       = 0
	statusConflict = 1
	statusFenced   = 2
	statusOverflow = 3
)

// num formats a version or token for the scripts: 20 decimal digits, so
// that string order is numeric order.
func num[N ~uint64](n N) string { return fmt.Sprintf("%020d", uint64(n)) }

// parseVersion parses a version the scripts or a hash returned.
func parseVersion(v any) (merge.Version, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("redis: version %v is not a string", v)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("redis: version %q: %w", s, err)
	}
	return merge.Version(n), nil
}
