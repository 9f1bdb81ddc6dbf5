package merge_test

import (
	"testing"
	"time"

	"github.com/warpcache/warp/merge"
)

func TestMakeVersionBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		at   time.Time
		want merge.Version
	}{
		{"before 1970", time.Unix(-5, 0), 0},
		{"epoch", time.Unix(0, 0), 0},
		{"one ms", time.UnixMilli(1), 1 << 16},
		{"past the last millisecond", time.UnixMilli(int64(merge.MaxVersion>>16) + 1), merge.MaxVersion},
		{"year 9999", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), merge.MaxVersion},
	} {
		if got := merge.MakeVersion(tc.at); got != tc.want {
			t.Errorf("%s: got %d; want %d", tc.name, got, tc.want)
		}
	}
}

// Observe refuses a version more than the bound ahead of the wall clock,
// or above MaxVersion, and leaves the clock where it was.
func TestObserveRejectsVersionsFromTheFuture(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	c := merge.NewClock(func() time.Time { return now }, 10*time.Second)
	base := c.Now()
	for _, tc := range []struct {
		name string
		v    merge.Version
		ok   bool
	}{
		{"behind", merge.MakeVersion(now.Add(-time.Hour)), true},
		{"9 s ahead", merge.MakeVersion(now.Add(9 * time.Second)), true},
		{"10 s ahead", merge.MakeVersion(now.Add(10 * time.Second)), true},
		{"11 s ahead", merge.MakeVersion(now.Add(11 * time.Second)), false},
		{"an hour ahead", merge.MakeVersion(now.Add(time.Hour)), false},
		{"MaxVersion", merge.MaxVersion, false},
		{"2^63+1", merge.Version(1<<63 + 1), false},
		{"2^64-1", ^merge.Version(0), false},
	} {
		before := c.Last()
		ok := c.Observe(tc.v)
		if ok != tc.ok {
			t.Errorf("%s: Observe got %v; want %v", tc.name, ok, tc.ok)
		}
		if !ok && c.Last() != before {
			t.Errorf("%s: a refused version moved the clock from %d to %d", tc.name, before, c.Last())
		}
		if ok && c.Last() < tc.v {
			t.Errorf("%s: clock at %d after accepting %d", tc.name, c.Last(), tc.v)
		}
	}
	if next := c.Now(); next <= base || next > merge.MakeVersion(now.Add(11*time.Second)) {
		t.Errorf("Now after the observations: got %d; want in (%d, 11 s ahead]", next, base)
	}
}

// The clock stops at MaxVersion instead of wrapping, whatever the wall
// clock says.
func TestClockNeverWraps(t *testing.T) {
	t.Parallel()
	c := merge.NewClock(func() time.Time { return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }, 0)
	for range 3 {
		if v := c.Now(); v != merge.MaxVersion {
			t.Fatalf("Now: got %d; want MaxVersion %d", v, merge.MaxVersion)
		}
	}
	if !merge.MaxVersion.Valid() || (merge.MaxVersion + 1).Valid() {
		t.Fatal("Valid: MaxVersion must be valid and MaxVersion+1 not")
	}
}

// The default bound is DefaultMaxAhead.
func TestObserveDefaultBound(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	c := merge.NewClock(func() time.Time { return now }, 0)
	if !c.Observe(merge.MakeVersion(now.Add(merge.DefaultMaxAhead))) {
		t.Error("a version DefaultMaxAhead ahead was refused")
	}
	if c.Observe(merge.MakeVersion(now.Add(merge.DefaultMaxAhead + time.Second))) {
		t.Error("a version past DefaultMaxAhead was accepted")
	}
}
