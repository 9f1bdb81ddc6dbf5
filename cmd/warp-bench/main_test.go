package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestRunJSON(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-keys", "1000", "-duration", "100ms", "-concurrency", "2", "-json"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Results []report `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out.String())
	}
	if len(rep.Results) != 3 {
		t.Fatalf("got %d results; want warp, bigcache and map", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Ops == 0 || r.Errors != 0 || r.HitRatio < 0.99 {
			t.Errorf("%s: ops %d, errors %d, hit ratio %v; want ops > 0, no errors, all hits", r.Target, r.Ops, r.Errors, r.HitRatio)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-keys", "0"}, {"-dist", "pareto"}, {"-reads", "2"}, {"-targets", "nope"}} {
		if err := run(args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("run(%v) err = %v; want an error naming %s", args, err, args[0])
		}
	}
}
