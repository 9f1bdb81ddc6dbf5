package postgres

import (
	"strings"
	"testing"
)

func TestSuccessor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, want string
		ok           bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"a/", "a0", true},
		{"p%", "p&", true},
		{"z~\u007f", "z~\u0080", true},
		{"k\ud7ff", "k\ue000", true},
		{"k\U0010FFFF", "l", true},
		{"\U0010FFFF\U0010FFFF", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			t.Parallel()
			got, ok := successor(tc.prefix)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("successor(%q) = %q, %v; want %q, %v", tc.prefix, got, ok, tc.want, tc.ok)
			}
			if ok && (got <= tc.prefix || strings.HasPrefix(got, tc.prefix)) {
				t.Fatalf("successor(%q) = %q is not above every key with the prefix", tc.prefix, got)
			}
		})
	}
}
