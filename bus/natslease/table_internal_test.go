package natslease

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestTombstonesExpireInTheirOwnOrder: tombstones are forgotten when their
// own time passes, whatever the order the leases ended in: one lease of
// a very long TTL ending first used to hold every later tombstone for as
// long as it lived.
func TestTombstonesExpireInTheirOwnOrder(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	tb := newTable(func() time.Time { return now }, time.Second, 10*time.Second, DefaultMaxAttachments, true)
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

// TestTableBound: past maxKeys, a table that drops keys forgets the
// lease's keys, records no more, refuses Attach (full) and ends the lease
// with all set; one that does not drop them keeps every key. Up to the
// bound, a key the lease has is not refused.
func TestTableBound(t *testing.T) {
	t.Parallel()
	for _, drop := range []bool{true, false} {
		t.Run(fmt.Sprint("drop=", drop), func(t *testing.T) {
			t.Parallel()
			tb := newTable(time.Now, time.Second, 10*time.Second, 2, drop)
			tb.grant("l", time.Minute)
			for i, k := range []string{"a", "b", "b"} {
				if _, _, over := tb.sighting("l", k); over {
					t.Fatalf("sighting %d (%s) of 2 keys: over; want not", i, k)
				}
			}
			if !tb.full("l", "c") || tb.full("l", "a") {
				t.Errorf("at 2 keys: full(c), full(a) = %v, %v; want true, false", tb.full("l", "c"), tb.full("l", "a"))
			}
			overs := 0
			for _, k := range []string{"c", "d", "a"} {
				if _, _, over := tb.sighting("l", k); over {
					overs++
				}
			}
			if overs != 1 {
				t.Errorf("3 sightings past the bound reported over %d times; want once", overs)
			}
			if !tb.full("l", "a") {
				t.Error("past the bound: full(a) = false; want true")
			}
			want := []string{"a", "b", "c", "d"}
			if drop {
				want = nil
			}
			if got := tb.keys("l"); !slices.Equal(got, want) {
				t.Errorf("keys: got %q; want %q", got, want)
			}
			e, first, known := tb.end("l")
			if !first || !known || e.all != drop || !slices.Equal(e.keys, want) {
				t.Errorf("end: got %+v, %v, %v; want keys %q, all %v, first and known", e, first, known, want, drop)
			}
		})
	}
}
