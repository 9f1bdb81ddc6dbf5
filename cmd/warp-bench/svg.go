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

// Chart geometry, in SVG user units: the latency chart on top, the
// coherence strip (stale reads, repairs, lease loss per second) under it,
// one time axis.
const (
	svgW, svgH           = 1000, 560
	padL, padR           = 130, 190
	chartTop, chartBot   = 40, 340
	stripTop, stripRowH  = 370, 30
	axisY                = stripTop + 3*stripRowH + 18
	phaseFill, phaseEdge = "#f3f3f3", "#999"
)

// series is one line of the chart: a figure of the points of some phases.
type series struct {
	name, color, dash string
	phase             func(string) bool
	value             func(point) figure
}

func isMode(p string) bool     { return p != "baseline" && p != "rueidis" }
func isBaseline(p string) bool { return p == "baseline" }
func isRueidis(p string) bool  { return p == "rueidis" }

var chartSeries = []series{
	{"write p50", "#1f77b4", "", isMode, func(p point) figure { return p.WriteP50us }},
	{"write p99", "#1f77b4", "6 4", isMode, func(p point) figure { return p.WriteP99us }},
	{"lag p50", "#d62728", "", isMode, func(p point) figure { return p.LagP50us }},
	{"lag p99", "#d62728", "6 4", isMode, func(p point) figure { return p.LagP99us }},
	{"raw NATS RTT p50", "#2ca02c", "", isBaseline, func(p point) figure { return p.WriteP50us }},
	{"raw NATS RTT p99", "#2ca02c", "6 4", isBaseline, func(p point) figure { return p.WriteP99us }},
	{"rueidis lag p50", "#9467bd", "", isRueidis, func(p point) figure { return p.LagP50us }},
	{"rueidis lag p99", "#9467bd", "6 4", isRueidis, func(p point) figure { return p.LagP99us }},
}

// strip is one row of the coherence strip.
type strip struct {
	name, color string
	value       func(point) float64
}

var strips = []strip{
	{"stale reads", "#ff7f0e", func(p point) float64 { return float64(p.StaleReads) }},
	{"repairs", "#8c564b", func(p point) float64 { return float64(p.Repairs) }},
	{"no lease (node-ms)", "#e377c2", func(p point) float64 { return p.NoLeaseMs }},
}

// compact writes a count in at most about four characters.
func compact(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func writePlotFile(path string, res result) error {
	var b bytes.Buffer
	writeSVG(&b, res)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("-plot: %w", err)
	}
	return nil
}

// writeSVG draws the run's per-second figures on one time axis: every
// phase as a band (the baseline's round trip and rueidis's lag
// included), the latencies on a log scale, and the coherence strip.
func writeSVG(w io.Writer, res result) {
	pts := res.Timeline
	lo, hi, tmax := math.Inf(1), 0.0, 1.0
	for _, p := range pts {
		tmax = max(tmax, p.T)
		for _, s := range chartSeries {
			if v := s.value(p); v != nil && *v > 0 && s.phase(p.Phase) {
				lo, hi = min(lo, *v), max(hi, *v)
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
		return chartBot - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*(chartBot-chartTop)
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(w, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	fmt.Fprintf(w, `<text x="%d" y="22" font-size="15">%s</text>`+"\n", padL, html.EscapeString(chartTitle(res)))
	drawPhases(w, pts, x)
	for v := lo; v <= hi*1.0001; v *= 10 { // decades
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", padL, y(v), svgW-padR, y(v))
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-6, y(v)+4, durLabel(v))
	}
	if b := res.Baseline; b != nil && b.P50us != nil && *b.P50us > 0 {
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#2ca02c" stroke-dasharray="1 3"/>`+"\n", padL, y(*b.P50us), svgW-padR, y(*b.P50us))
	}
	for i, s := range chartSeries {
		drawSeries(w, pts, s, x, y)
		ly := chartTop + 18*i
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", svgW-padR+12, ly, svgW-padR+40, ly, s.color, s.dash)
		fmt.Fprintf(w, `<text x="%d" y="%d">%s</text>`+"\n", svgW-padR+46, ly+4, s.name)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#2ca02c">····· raw RTT p50, whole run</text>`+"\n", svgW-padR+12, chartTop+18*len(chartSeries)+4)
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#555" font-size="11">a lag of 0 (applied before</text>`+"\n", svgW-padR+12, chartTop+18*len(chartSeries)+26)
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#555" font-size="11">Set returned) is not drawn</text>`+"\n", svgW-padR+12, chartTop+18*len(chartSeries)+40)
	drawStrips(w, pts, x)
	for t := 0.0; t <= tmax; t += tickStep(tmax) {
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">%gs</text>`+"\n", x(t), axisY, t)
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">time since the start of the run (1 s buckets; a phase's last one ends with it)</text>`+"\n", x(tmax/2), axisY+20)
	fmt.Fprintln(w, `</svg>`)
}

func chartTitle(res result) string {
	if len(res.Timeline) == 0 {
		return "warp-bench: no per-second data"
	}
	return fmt.Sprintf("warp-bench: %s store, %s — per-second latency, lag and coherence", res.Config.Store, res.Config.Modes)
}

func tickStep(tmax float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 30, 60, 300, 600} {
		if tmax/s <= 12 {
			return s
		}
	}
	return 1200
}

// phaseSpans returns each phase's name and span, in order.
func phaseSpans(pts []point) (names []string, t0, t1 map[string]float64) {
	t0, t1 = map[string]float64{}, map[string]float64{}
	for _, p := range pts {
		if _, ok := t0[p.Phase]; !ok {
			names = append(names, p.Phase)
			t0[p.Phase], t1[p.Phase] = p.T0, p.T
		}
		t0[p.Phase], t1[p.Phase] = min(t0[p.Phase], p.T0), max(t1[p.Phase], p.T)
	}
	return names, t0, t1
}

// drawPhases draws each phase as a labelled band over the chart and the
// strip.
func drawPhases(w io.Writer, pts []point, x func(float64) float64) {
	names, t0, t1 := phaseSpans(pts)
	for _, n := range names {
		a, b := x(t0[n]), x(t1[n])
		fmt.Fprintf(w, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" stroke="%s" stroke-dasharray="2 3"/>`+"\n",
			a, chartTop, b-a, stripTop+3*stripRowH-chartTop, phaseFill, phaseEdge)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" fill="#555">%s</text>`+"\n", a+3, chartTop+12, html.EscapeString(n))
	}
}

// drawSeries draws s as one polyline per run of consecutive seconds with
// a value, within a phase, each point at the middle of its second.
func drawSeries(w io.Writer, pts []point, s series, x, y func(float64) float64) {
	var cur []string
	phase := ""
	flush := func() {
		if len(cur) > 0 {
			fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", s.color, s.dash, strings.Join(cur, " "))
		}
		cur = nil
	}
	for _, p := range pts {
		v := s.value(p)
		if p.Phase != phase || v == nil || *v <= 0 || !s.phase(p.Phase) {
			flush()
			phase = p.Phase
		}
		if v != nil && *v > 0 && s.phase(p.Phase) {
			cx, cy := x((p.T0+p.T)/2), y(*v)
			cur = append(cur, fmt.Sprintf("%.1f,%.1f", cx, cy))
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`+"\n", cx, cy, s.color)
		}
	}
	flush()
}

// drawStrips draws the coherence strip: per second, a box with the count
// where it is above zero.
func drawStrips(w io.Writer, pts []point, x func(float64) float64) {
	for i, s := range strips {
		top := stripTop + i*stripRowH
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ccc"/>`+"\n", padL, top+stripRowH, svgW-padR, top+stripRowH)
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", padL-6, top+stripRowH/2+4, s.name)
		for _, p := range pts {
			v := s.value(p)
			if v <= 0 {
				continue
			}
			a, b := x(p.T0), x(p.T)
			fmt.Fprintf(w, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" fill-opacity="0.6"/>`+"\n", a+1, top+3, max(b-a-2, 1), stripRowH-6, s.color)
			fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle" font-size="11">%s</text>`+"\n", (a+b)/2, top+stripRowH/2+4, compact(v))
		}
	}
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
