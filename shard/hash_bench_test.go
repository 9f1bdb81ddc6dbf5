package shard

import (
	"fmt"
	"hash/maphash"
	"strings"
	"testing"
	"time"

	"github.com/allegro/bigcache/v3"
)

var hashSink uint64

// BenchmarkKeyHash compares the key hash a shard gives its bigcache slice
// (keyHasher) with bigcache's default, for keys of 13, 32 and 64 bytes.
func BenchmarkKeyHash(b *testing.B) {
	hashers := []struct {
		name string
		h    bigcache.Hasher
	}{
		{"bigcache-default", bigcache.DefaultConfig(time.Hour).Hasher},
		{"warp", keyHasher(maphash.MakeSeed())},
	}
	for _, n := range []int{13, 32, 64} {
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = fmt.Sprintf("user:%s%08d", strings.Repeat("x", n-13), i)
		}
		for _, h := range hashers {
			b.Run(fmt.Sprintf("%d/%s", n, h.name), func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					hashSink += h.h.Sum64(keys[i&1023])
				}
			})
		}
	}
}
