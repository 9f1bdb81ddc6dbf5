package main

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	svgW, svgH                 = 960, 480
	padL, padR, padTop, padBot = 70, 170, 40, 50
)

// series is one line of the chart: a figure of every point.
type series struct {
	name, color, dash string
	value             func(point) float64
}

var chartSeries = []series{
	{"write p50", "#1f77b4", "", func(p point) float64 { return p.WriteP50us }},
	{"write p99", "#1f77b4", "6 4", func(p point) float64 { return p.WriteP99us }},
	{"lag p50", "#d62728", "", func(p point) float64 { return p.LagP50us }},
	{"lag p99", "#d62728", "6 4", func(p point) float64 { return p.LagP99us }},
}

func writePlotFile(path string, res result) error {
	var b bytes.Buffer
	writeSVG(&b, res)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("-plot: %w", err)
	}
	return nil
}

// writeSVG draws the per-second write latency and lag percentiles of every
// phase on one time axis, with a log-scale latency axis.
func writeSVG(w io.Writer, res result) {
	pts := res.Timeline
	lo, hi, tmax := math.Inf(1), 0.0, 1.0
	for _, p := range pts {
		tmax = max(tmax, p.T)
		for _, s := range chartSeries {
			if v := s.value(p); v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	lo, hi = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	if hi <= lo {
		hi = lo * 10
	}
	x := func(t float64) float64 { return padL + t/tmax*(svgW-padL-padR) }
	y := func(v float64) float64 {
		return svgH - padBot - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*(svgH-padTop-padBot)
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(w, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	fmt.Fprintf(w, `<text x="%d" y="22" font-size="15">%s</text>`+"\n", padL, html.EscapeString(chartTitle(res)))
	for v := lo; v <= hi*1.0001; v *= 10 { // decades
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", padL, y(v), svgW-padR, y(v))
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-6, y(v)+4, durLabel(v))
	}
	for t := 0.0; t <= tmax; t += tickStep(tmax) {
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">%gs</text>`+"\n", x(t), svgH-padBot+18, t)
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">time since the start of the run (1 s buckets)</text>`+"\n", x(tmax/2), svgH-10)
	drawPhases(w, pts, x)
	for i, s := range chartSeries {
		for _, line := range polylines(pts, s.value, x, y) {
			fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", s.color, s.dash, line)
		}
		for _, p := range pts {
			if v := s.value(p); v > 0 {
				fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`+"\n", x(p.T-0.5), y(v), s.color)
			}
		}
		ly := padTop + 20*i
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", svgW-padR+12, ly, svgW-padR+40, ly, s.color, s.dash)
		fmt.Fprintf(w, `<text x="%d" y="%d">%s</text>`+"\n", svgW-padR+46, ly+4, s.name)
	}
	fmt.Fprintln(w, `</svg>`)
}

func chartTitle(res result) string {
	if len(res.Timeline) == 0 {
		return "warp-bench: no per-second data"
	}
	return fmt.Sprintf("warp-bench: %s store, %s — per-second latency and invalidation lag", res.Config.Store, res.Config.Modes)
}

func tickStep(tmax float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 30, 60, 300, 600} {
		if tmax/s <= 12 {
			return s
		}
	}
	return 1200
}

// drawPhases draws a labelled line where each phase starts.
func drawPhases(w io.Writer, pts []point, x func(float64) float64) {
	seen := map[string]bool{}
	for _, p := range pts {
		if seen[p.Phase] {
			continue
		}
		seen[p.Phase] = true
		t := p.T - 1
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999" stroke-dasharray="2 3"/>`+"\n", x(t), padTop, x(t), svgH-padBot)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" fill="#555">%s</text>`+"\n", x(t)+3, padTop+12, html.EscapeString(p.Phase))
	}
}

// polylines returns one "x,y x,y…" list per run of positive values within
// a phase.
func polylines(pts []point, value func(point) float64, x, y func(float64) float64) []string {
	var out []string
	var cur []string
	phase := ""
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
		}
		cur = nil
	}
	for _, p := range pts {
		v := value(p)
		if p.Phase != phase || v <= 0 {
			flush()
			phase = p.Phase
		}
		if v > 0 {
			cur = append(cur, fmt.Sprintf("%.1f,%.1f", x(p.T-0.5), y(v)))
		}
	}
	flush()
	return out
}

// durLabel writes a microsecond figure in µs, ms or s.
func durLabel(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%gs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%gms", us/1e3)
	}
	return fmt.Sprintf("%gµs", us)
}
