package svgchart_test

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/clerkgate/clerkgate/bench/internal/svgchart"
)

// TestChartIsWellFormedAndShowsItsNumbers: the SVG parses as XML, has one
// bar per value given (none for NaN), prints every value, and escapes
// labels.
func TestChartIsWellFormedAndShowsItsNumbers(t *testing.T) {
	c := svgchart.Chart{
		Title:  "req/s <by> phase",
		Unit:   "req/s",
		Series: []string{"clerkgate", "clerk-sdk-go"},
		Groups: []svgchart.Group{
			{Label: "/me, repeated token", Values: []float64{33889, 6094}},
			{Label: "/me & cookie", Values: []float64{30000, math.NaN()}},
		},
		Reference: 20000,
		RefLabel:  "floor",
	}
	var b strings.Builder
	if err := c.Write(&b); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	dec := xml.NewDecoder(strings.NewReader(svg))
	bars := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			for _, a := range se.Attr {
				if a.Name.Local == "height" && a.Value == "16" {
					bars++
				}
			}
		}
	}
	if bars != 3 {
		t.Fatalf("%d bars, want 3 (the NaN one left out)", bars)
	}
	for _, want := range []string{"33889 req/s", "6094 req/s", "30000 req/s", "req/s &lt;by&gt; phase", "/me &amp; cookie", "floor"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}
