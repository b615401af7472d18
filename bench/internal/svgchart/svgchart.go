// Package svgchart draws the horizontal bar charts of docs/BENCHMARKS.md
// from the bench tools' own results, so that no number in a chart is
// typed by hand. The output is a self-contained SVG with no scripts, fonts
// or external references.
package svgchart

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Chart is a grouped horizontal bar chart: one group of bars per label,
// one bar per series in each group.
type Chart struct {
	Title  string
	Unit   string   // printed after each value, e.g. "req/s" or "µs"
	Series []string // legend, in the order of each group's values
	Groups []Group
	// Reference, when positive, draws a dashed vertical line at that
	// value, labelled RefLabel (e.g. the bare RSA check).
	Reference float64
	RefLabel  string
}

// Group is one label and its values, one per series; NaN leaves a bar out.
type Group struct {
	Label  string
	Values []float64
}

// Layout, in SVG user units.
const (
	width     = 860
	labelW    = 300
	barH      = 16
	barGap    = 3
	groupGap  = 14
	top       = 56
	rightPad  = 110
	legendRow = 18
)

// colour is series i's colour, from a colour-blind safe palette
// (Okabe–Ito).
func colour(i int) string {
	palette := [...]string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"}
	return palette[i%len(palette)]
}

// Write renders c to w.
func (c Chart) Write(w io.Writer) error {
	maxV := c.Reference
	for _, g := range c.Groups {
		for _, v := range g.Values {
			if !math.IsNaN(v) {
				maxV = math.Max(maxV, v)
			}
		}
	}
	if maxV <= 0 {
		maxV = 1
	}
	plotW := float64(width - labelW - rightPad)
	x := func(v float64) float64 { return labelW + v/maxV*plotW }

	var b strings.Builder
	y := top
	for _, g := range c.Groups {
		n := len(g.Values)
		groupH := n*barH + (n-1)*barGap
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n",
			labelW-8, y+groupH/2, html.EscapeString(g.Label))
		for i, v := range g.Values {
			by := y + i*(barH+barGap)
			if math.IsNaN(v) {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`+"\n",
				labelW, by, x(v)-labelW, barH, colour(i), html.EscapeString(c.seriesName(i)), html.EscapeString(c.format(v)))
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" dominant-baseline="middle" class="v">%s</text>`+"\n",
				x(v)+4, by+barH/2, html.EscapeString(c.format(v)))
		}
		y += groupH + groupGap
	}
	height := y + 10
	if c.Reference > 0 {
		rx := x(c.Reference)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#444" stroke-dasharray="4 3"/>`+"\n", rx, top-6, rx, y-groupGap+4)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" class="v">%s</text>`+"\n", rx, top-10, html.EscapeString(c.RefLabel))
	}

	var legend strings.Builder
	lx := labelW
	for i, s := range c.Series {
		fmt.Fprintf(&legend, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n",
			lx, 24, colour(i), lx+16, 30, html.EscapeString(s))
		lx += 24 + 8*len([]rune(s))
	}
	_, err := fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
<style>.v{font-size:11px;fill:#333}</style>
<rect width="100%%" height="100%%" fill="#fff"/>
<text x="8" y="16" font-size="14" font-weight="bold">%s</text>
%s%s</svg>
`, width, height, width, height, html.EscapeString(c.Title), legend.String(), b.String())
	return err
}

func (c Chart) seriesName(i int) string {
	if i < len(c.Series) {
		return c.Series[i]
	}
	return fmt.Sprint(i)
}

func (c Chart) format(v float64) string {
	var s string
	switch {
	case v >= 100:
		s = fmt.Sprintf("%.0f", v)
	case v >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2f", v)
	}
	if c.Unit != "" {
		s += " " + c.Unit
	}
	return s
}
