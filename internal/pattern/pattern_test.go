package pattern

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Pattern
		wantErr bool
	}{
		{"user:42", Pattern{Prefix: "user:42", Exact: true}, false},
		{"user:*", Pattern{Prefix: "user:"}, false},
		{"*", Pattern{Prefix: ""}, false},
		{"", Pattern{}, true},
		{"us*er", Pattern{}, true},
		{"**", Pattern{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(%q) err = %v; want ErrMalformed", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Fatalf("String() = %q; want %q", got.String(), tt.in)
			}
		})
	}
}

func mustTable(t *testing.T, regs ...string) *Table[string] {
	t.Helper()
	tab := NewTable[string]()
	for _, r := range regs {
		p, err := Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		tab = tab.With(p, r)
	}
	return tab
}

func TestLookup(t *testing.T) {
	t.Parallel()
	tab := mustTable(t, "user:*", "user:admin:*", "user:42", "x*", "session:eu")
	tests := []struct{ key, want string }{
		{"user:1", "user:*"},
		{"user:42", "user:42"},
		{"user:admin:7", "user:admin:*"},
		{"user:admin", "user:*"},
		{"user:", "user:*"},
		{"xyz", "x*"},
		{"session:eu", "session:eu"},
		{"session:eu:1", ""},
		{"other", ""},
	}
	for _, tt := range tests {
		got, ok := tab.Lookup(tt.key)
		if (tt.want == "") == ok || got != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.key, got, ok, tt.want)
		}
	}
	tab = tab.Without(Pattern{Prefix: "user:admin:"})
	if got, _ := tab.Lookup("user:admin:7"); got != "user:*" {
		t.Errorf("after Without, Lookup = %q; want user:*", got)
	}
	if tab.Len() != 4 {
		t.Errorf("Len = %d; want 4", tab.Len())
	}
}

// BenchmarkLookup shows that lookup cost does not grow with the number of
// patterns registered.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			all := map[Pattern]int{}
			for i := range n {
				all[Pattern{Prefix: fmt.Sprintf("tenant%05d:", i)}] = i
			}
			tab := build(all)
			key := "tenant00000:user:1234"
			b.ResetTimer()
			for b.Loop() {
				tab.Lookup(key)
			}
		})
	}
}

func FuzzParseLookup(f *testing.F) {
	for _, s := range []string{"user:*", "a", "*", "a*b", ""} {
		f.Add(s, "user:1")
	}
	f.Fuzz(func(t *testing.T, reg, key string) {
		p, err := Parse(reg)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if q, err := Parse(p.String()); err != nil || q != p {
			t.Fatalf("round trip %q -> %+v -> %+v, %v", reg, p, q, err)
		}
		tab := NewTable[bool]().With(p, true)
		_, ok := tab.Lookup(key)
		want := key == p.Prefix || (!p.Exact && strings.HasPrefix(key, p.Prefix))
		if ok != want {
			t.Fatalf("Lookup(%q) with %q = %v; want %v", key, reg, ok, want)
		}
	})
}
