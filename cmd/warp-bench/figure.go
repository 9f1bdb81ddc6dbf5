package main

import (
	"strconv"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// A figure is a measured number, or nil when nothing was sampled: the
// text report prints nil as "n/a", JSON as null and CSV as an empty
// field, so a missing figure never reads as 0 ("instant", "none").
type figure = *float64

// some returns v as a figure.
func some(v float64) figure { return &v }

// quantileOf is h's quantile q in µs, or nil for an empty histogram.
func quantileOf(h *hdrhistogram.Histogram, q float64) figure {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	return some(float64(h.ValueAtQuantile(q)) / 1e3)
}

// maxOf is h's largest value in µs, or nil for an empty histogram.
func maxOf(h *hdrhistogram.Histogram) figure {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	return some(float64(h.Max()) / 1e3)
}

// ratioOf is a/b, or nil if either is missing or b is not positive.
func ratioOf(a, b figure) figure {
	if a == nil || b == nil || *b <= 0 {
		return nil
	}
	return some(*a / *b)
}

// fractionOf is n/d, or nil when d is 0.
func fractionOf(n, d int64) figure {
	if d <= 0 {
		return nil
	}
	return some(float64(n) / float64(d))
}

// count is an integer figure: nil when nothing was sampled.
type count = *int64

func someCount(v int64) count { return &v }

// countIf is v when sampled, else nil.
func countIf(v int64, sampled bool) count {
	if !sampled {
		return nil
	}
	return someCount(v)
}

// fmtF formats f with prec decimals, or "n/a".
func fmtF(f figure, prec int) string {
	if f == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*f, 'f', prec, 64)
}

// fmtC formats c, or "n/a".
func fmtC(c count) string {
	if c == nil {
		return "n/a"
	}
	return strconv.FormatInt(*c, 10)
}

// csvF is f with 3 decimals, or an empty field.
func csvF(f figure) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', 3, 64)
}

// csvC is c, or an empty field.
func csvC(c count) string {
	if c == nil {
		return ""
	}
	return strconv.FormatInt(*c, 10)
}
