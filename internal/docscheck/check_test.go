package docscheck

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestGoodPage: a page that follows every rule has no problems.
func TestGoodPage(t *testing.T) {
	t.Parallel()
	problems, err := Check(filepath.Join("..", ".."), []string{"internal/docscheck/testdata/good.md"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("got %s; want no problem", p)
	}
}

// TestBadPage: each broken link, reference, snippet, example and listing
// is reported at its line.
func TestBadPage(t *testing.T) {
	t.Parallel()
	const file = "internal/docscheck/testdata/bad.md"
	problems, err := Check(filepath.Join("..", ".."), []string{file})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line int
		msg  string
	}{
		{3, "link to nope.md: no such file in the repository"},
		{3, "link to good.md#no-such-heading: internal/docscheck/testdata/good.md has no heading #no-such-heading"},
		{3, "link to #missing: internal/docscheck/testdata/bad.md has no heading #missing"},
		{4, "`api/nope.go`: no such file or directory in the repository"},
		{4, "DESIGN.md: no such page in the repository"},
		{8, "w.Sett undefined"},
		{13, "not Go: expected statement, found '...'"},
		{20, `example: "Max" differs from api.ExampleWithMergeEngine, which has "Sum" (api/example_test.go:`},
		{34, "example: no func ExampleNope in api/*_test.go"},
		{39, "listing github.com/warpcache/warp/bus/natslock: Locker.TryLock is listed as (context.Context, string) (*Lock, error); the code has (context.Context, string, time.Duration) (*Lock, error)"},
		{41, "listing github.com/warpcache/warp/bus/natslock: no field Bukket"},
		{42, "listing github.com/warpcache/warp/bus/natslock: field Owner is string, listed as int"},
		{44, "listing github.com/warpcache/warp/bus/natslock: no type Nope"},
		{50, "a blank line splits the table"},
	}
	for _, w := range want {
		found := false
		for _, p := range problems {
			found = found || p.File == file && p.Line == w.line && strings.Contains(p.Msg, w.msg)
		}
		if !found {
			t.Errorf("no problem %q at line %d", w.msg, w.line)
		}
	}
	if len(problems) != len(want) {
		for _, p := range problems {
			t.Log(p)
		}
		t.Errorf("got %d problems; want %d", len(problems), len(want))
	}
}

func TestSlug(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ heading, want string }{
		{"Fresh machine: two commands", "fresh-machine-two-commands"},
		{"`api.Warp` and [locks](lock.md)", "apiwarp-and-locks"},
		{"Sizing memory (L1)", "sizing-memory-l1"},
		{"Tests — under_score", "tests--under_score"},
	} {
		if got := slug(tt.heading); got != tt.want {
			t.Errorf("slug(%q) = %q; want %q", tt.heading, got, tt.want)
		}
	}
}
