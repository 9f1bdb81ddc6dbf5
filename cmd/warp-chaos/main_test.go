package main

import (
	"io"
	"strings"
	"testing"
)

func TestList(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-list"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 14 || !strings.Contains(out.String(), "partition-30s") || !strings.Contains(out.String(), "canary") {
		t.Fatalf("-list printed %d lines:\n%s\nwant the 14 scenarios, the canary included", n, out.String())
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"-bogus"},
		{"-only", "("},
		{"-profile", "long", "-out", t.TempDir()},
		{"node"}, // the node role without its flags
	} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded; want an error", args)
		}
	}
}
