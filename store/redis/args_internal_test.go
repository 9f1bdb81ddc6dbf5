package redis

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

func TestNum(t *testing.T) {
	t.Parallel()
	for _, n := range []uint64{0, 1, 9, 10, 9999999999, 10000000000, math.MaxUint64 - 1, math.MaxUint64} {
		if got, want := num(n), fmt.Sprintf("%020d", n); got != want {
			t.Errorf("num(%d) = %q; want %q", n, got, want)
		}
	}
}

func FuzzNum(f *testing.F) {
	f.Add(uint64(0))
	f.Add(uint64(math.MaxUint64))
	f.Fuzz(func(t *testing.T, n uint64) {
		if got, want := num(n), fmt.Sprintf("%020d", n); got != want {
			t.Fatalf("num(%d) = %q; want %q", n, got, want)
		}
	})
}

// A write's command prints its arguments as text, as a tracing or logging
// hook shows it (cmd.String()), not as addresses; and each argument
// marshals to its own bytes, which is what go-redis writes.
func TestWriteArgsPrintAsText(t *testing.T) {
	t.Parallel()
	s := &Store[[]byte]{cfg: Config{Prefix: "p:"}, id: "w1."}
	keys, args := s.newWriteArgs("s", "user:1", []byte("value"), store.Write{
		Min: merge.Version(7), IfVersion: merge.Version(9), Fence: 11, Check: true,
		Guard: store.Guard{Cluster: "c", Node: "node-a", Incarnation: 13},
	})
	cmd := goredis.NewCmd(context.Background(), append(append([]any{"evalsha", "sha", len(keys)}, toAny(keys)...), args...)...)
	got := cmd.String()
	for _, want := range []string{"p:user:1", " s ", "value", num(uint64(7)), num(uint64(9)), num(uint64(11)), "node-a", num(uint64(13)), " w1.1"} {
		if !strings.Contains(got, want) {
			t.Errorf("the command prints as %q; want %q in it", got, want)
		}
	}
	if strings.Contains(got, "0x") {
		t.Errorf("the command prints as %q: an address among its arguments", got)
	}
	// What go-redis writes: ARGV 1 to 9 (2 is the value, a []byte).
	want := []string{"s", "value", num(uint64(7)), "1", num(uint64(9)), num(uint64(11)), "", "node-a", num(uint64(13))}
	for i, a := range args {
		var b []byte
		switch a := a.(type) {
		case []byte:
			b = a
		case *arg:
			var err error
			if b, err = a.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("argument %d is a %T", i, a)
		}
		if i == 6 { // the write id: this Store's id and counter
			if !strings.HasPrefix(string(b), "w1.") {
				t.Errorf("argument %d marshals to %q; want the write id w1.…", i, b)
			}
		} else if string(b) != want[i] {
			t.Errorf("argument %d marshals to %q; want %q", i, b, want[i])
		}
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
