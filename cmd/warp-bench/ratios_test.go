package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -h lists every figure that has a target with the target the run holds
// it to: the cluster's ratios and targets, and the single-node read p50
// against bigcache.
func TestHelpListsTheTargets(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if code := mainCode([]string{"-h"}, &out, &bytes.Buffer{}); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	listed := map[string]string{} // name → target text
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[1] == "≤" {
			listed[f[0]] = f[1] + " " + f[2]
		}
	}
	defs := append(append([]ratioDef{}, clusterRatios...), clusterTargets...)
	defs = append(defs, singleRatios([]report{{Target: "warp"}, {Target: "bigcache"}, {Target: "otter"}})...)
	held := 0
	for _, d := range defs {
		if d.target == nil {
			if got, ok := listed[d.name]; ok {
				t.Errorf("%s: -h says %s; want it reported, without a target", d.name, got)
			}
			continue
		}
		held++
		if got, want := listed[d.name], targetText(d.target); got != want {
			t.Errorf("%s: -h says %q; want %q, the target the run holds it to", d.name, got, want)
		}
	}
	if held != 6 {
		t.Errorf("%d figures with a target; want 6 (docs/performance.md's)", held)
	}
}

// The targets are docs/performance.md's: the page states each one.
func TestTargetsMatchDocs(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "performance.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(page)), " ")
	for _, want := range []string{
		fmt.Sprintf("strong `Set` p50 ≤ %g× the round trip", float64(targetStrongSetP50OverRTT)),
		fmt.Sprintf("and p99 ≤ %g ms", float64(targetStrongSetP99us)/1000),
		fmt.Sprintf("eventual `Set` p50 ≤ %g× strong-local's", targetEventualSetOverLocal),
		fmt.Sprintf("eventual lag p99 ≤ %g ms", float64(targetEventualLagP99us)/1000),
		fmt.Sprintf("strong stale reads %g", float64(targetStrongStaleReads)),
		fmt.Sprintf("the read p50 against bigcache held to ≤ %g", targetReadP50OverBigcacheP50),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("docs/performance.md does not say %q", want)
		}
	}
}
