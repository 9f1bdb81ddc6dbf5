package natslease

import (
	"fmt"
	"testing"
	"time"
)

// TestTombstonesExpireInTheirOwnOrder: tombstones are forgotten when their
// own time passes, whatever the order the leases ended in: one lease of
// a very long TTL ending first used to hold every later tombstone for as
// long as it lived.
func TestTombstonesExpireInTheirOwnOrder(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	tb := newTable(func() time.Time { return now }, time.Second, 10*time.Second)
	tb.grant("long", 100*365*24*time.Hour)
	tb.end("long")
	const n = 1000
	for i := range n {
		id := fmt.Sprint("l", i)
		tb.grant(id, 10*time.Second)
		tb.end(id)
	}
	now = now.Add(time.Minute)
	tb.end("one more") // ends prune first
	if got := len(tb.tombs); got != 2 {
		t.Fatalf("%d tombstones a minute after %d leases of 10 s ended behind one of 100 years; want 2 (that one and the last)", got, n)
	}
	if _, ok := tb.tombs["long"]; !ok {
		t.Fatal("the tombstone of the 100-year lease was forgotten early")
	}
}
