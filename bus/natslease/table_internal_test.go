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
	tb := newTable(func() time.Time { return now }, time.Second, 10*time.Second, DefaultMaxAttachments, DefaultMaxLeases, true)
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
			tb := newTable(time.Now, time.Second, 10*time.Second, 2, DefaultMaxLeases, drop)
			tb.grant("l", time.Minute)
			for i, k := range []string{"a", "b", "b"} {
				if tb.sighting("l", k).over {
					t.Fatalf("sighting %d (%s) of 2 keys: over; want not", i, k)
				}
			}
			if !tb.full("l", "c") || tb.full("l", "a") {
				t.Errorf("at 2 keys: full(c), full(a) = %v, %v; want true, false", tb.full("l", "c"), tb.full("l", "a"))
			}
			overs := 0
			for _, k := range []string{"c", "d", "a"} {
				if tb.sighting("l", k).over {
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

// TestTableLeaseBound: past maxLeases, a table that drops keys tracks no
// new lease, by grant or sighting, and allocates nothing for them; the
// key of an untracked lease is refused, and that lease's end flushes,
// whether the table tracks it by then (it may lack the refused key) or
// not; a lease tracked before, or never refused, ends with its keys. A
// table that does not drop tracks every lease. crowded is reported once.
// The table used to track every lease, whatever their number.
func TestTableLeaseBound(t *testing.T) {
	t.Parallel()
	const bound = 4
	for _, drop := range []bool{true, false} {
		t.Run(fmt.Sprint("drop=", drop), func(t *testing.T) {
			t.Parallel()
			tb := newTable(time.Now, time.Second, 10*time.Second, DefaultMaxAttachments, bound, drop)
			crowded := 0
			for i := range bound {
				if tb.grant(fmt.Sprint("l", i), time.Minute) {
					crowded++
				}
			}
			tb.sighting("l0", "k")
			ids := []string{"a", "b", "c"}
			for _, id := range ids {
				if tb.grant(id, time.Minute) {
					crowded++
				}
				v := tb.sighting(id, "x")
				if v.crowded {
					crowded++
				}
				if v.refused != drop {
					t.Errorf("sighting of %s past the bound: refused %v; want %v", id, v.refused, drop)
				}
			}
			if crowded != 1 {
				t.Errorf("crowded reported %d times; want once", crowded)
			}
			want := bound
			if !drop {
				want += len(ids)
			}
			if got := len(tb.leases); got != want {
				t.Fatalf("%d leases tracked; want %d", got, want)
			}
			if !drop {
				return
			}
			if e, first, known := tb.end("a"); !first || known || !e.all {
				t.Errorf("end of a refused, untracked lease: got %+v, %v, %v; want all, first, unknown", e, first, known)
			}
			if e, _, _ := tb.end("never refused"); e.all {
				t.Errorf("end of an unknown lease never refused: got %+v; want not all", e)
			}
			// A slot frees up; b, refused before, is tracked now, without
			// the key refused.
			tb.end("l1")
			if v := tb.sighting("b", "y"); v.refused {
				t.Fatal("sighting of b with room: refused")
			}
			if e, _, known := tb.end("b"); !known || !e.all {
				t.Errorf("end of b, tracked after a refusal: got %+v, known %v; want all, known", e, known)
			}
			if e, _, _ := tb.end("l0"); e.all || !slices.Equal(e.keys, []string{"k"}) {
				t.Errorf("end of l0, tracked before the bound: got %+v; want keys [k], not all", e)
			}
		})
	}
}

// TestTombstonesBounded: at most maxLeases tombstones are kept; past
// them, the one due soonest is forgotten, so tombstones that a writer
// makes live for 100 years (lease entries of that TTL, then their
// markers) cost a bounded memory. They used to be kept, each, for 100
// years.
func TestTombstonesBounded(t *testing.T) {
	t.Parallel()
	const bound = 8
	now := time.Unix(1_000_000, 0)
	tb := newTable(func() time.Time { return now }, time.Second, 10*time.Second, DefaultMaxAttachments, bound, true)
	tb.grant("short", time.Second)
	tb.end("short")
	for i := range 1000 {
		id := fmt.Sprint("century", i)
		tb.grant(id, MaxTTL)
		tb.end(id)
	}
	if len(tb.tombs) != bound || len(tb.queue) != bound {
		t.Fatalf("%d tombstones, %d queued, after 1001 leases ended; want %d", len(tb.tombs), len(tb.queue), bound)
	}
	if _, ok := tb.tombs["short"]; ok {
		t.Error("the tombstone due soonest was kept; want it forgotten first")
	}
	for _, q := range tb.queue {
		if _, ok := tb.tombs[q.id]; !ok {
			t.Errorf("queued tombstone %s is not in tombs", q.id)
		}
	}
}

// TestUntrackedLeasesAllocateNothing: past maxLeases, the lease entries
// and attachments of leases the table does not track allocate nothing
// (not parallel: AllocsPerRun).
func TestUntrackedLeasesAllocateNothing(t *testing.T) {
	const runs = 100
	tb := newTable(time.Now, time.Second, 10*time.Second, DefaultMaxAttachments, 1, true)
	tb.grant("tracked", time.Minute)
	ids := make([]string, 2*(runs+1)) // a new lease entry and a new attachment each run
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x", i)
	}
	next := 0
	allocs := testing.AllocsPerRun(runs, func() {
		tb.grant(ids[next], time.Minute)
		tb.sighting(ids[next+1], "x")
		next += 2
	})
	if allocs != 0 {
		t.Errorf("grant and sighting of untracked leases: %v allocations; want 0", allocs)
	}
	if len(tb.leases) != 1 {
		t.Errorf("%d leases tracked; want 1", len(tb.leases))
	}
}
