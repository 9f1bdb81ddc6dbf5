package memory

import (
	"testing"
	"unsafe"
)

// TestRecordFitsACacheLine: the record of a []byte value fits the 64-byte
// size class, so a write to a key not written for a while misses the cache
// once for its record.
func TestRecordFitsACacheLine(t *testing.T) {
	if n := unsafe.Sizeof(record[[]byte]{}); n > 64 {
		t.Fatalf("record[[]byte] is %d bytes; want at most 64", n)
	}
}
