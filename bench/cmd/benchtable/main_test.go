package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/clerkgate/clerkgate/bench
cpu: AMD EPYC
BenchmarkVerify/floor-2         	   24274	     40000 ns/op	    1376 B/op	       9 allocs/op
BenchmarkVerify/floor-2         	   21163	     50000 ns/op	    1376 B/op	       9 allocs/op
BenchmarkVerify/floor-2         	   21163	     60000 ns/op	    1376 B/op	       9 allocs/op
BenchmarkVerify/clerkgate/cold-2         	   14809	     44000 ns/op	    3200 B/op	      30 allocs/op
BenchmarkVerify/clerkgate/cold-2         	   17449	     60000 ns/op	    3200 B/op	      30 allocs/op
BenchmarkVerify/clerkgate/cold-2         	   17449	     66000 ns/op	    3200 B/op	      30 allocs/op
BenchmarkVerify/clerkgate/warm-2         	 7564736	       203.2 ns/op	       0 B/op	       0 allocs/op
PASS
`

func TestTable(t *testing.T) {
	rs, meta, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := write(&out, rs, meta, "BenchmarkVerify/floor"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"cpu: AMD EPYC",
		"| BenchmarkVerify/floor | 3 | 50000 | 1376 | 9 | 1.00× | 0.0 |",
		// ratios 1.1, 1.2, 1.1 → 1.10; differences 4000, 10000, 6000 → 6000
		"| BenchmarkVerify/clerkgate/cold | 3 | 60000 | 3200 | 30 | 1.10× | 6000 |",
		"| BenchmarkVerify/clerkgate/warm | 1 | 203.2 | 0 | 0 | 0.01× | -39797 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if err := write(&out, rs, meta, "BenchmarkNope"); err == nil {
		t.Error("no error for a missing baseline")
	}
}

// TestChart: the chart shows every benchmark but the baseline as a bar of
// its median in µs, and the baseline as the reference line.
func TestChart(t *testing.T) {
	rs, _, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	c := chart(rs, "BenchmarkVerify/floor", "title")
	if c.Reference != 50 || len(c.Groups) != 2 {
		t.Fatalf("%+v", c)
	}
	if g := c.Groups[0]; g.Label != "clerkgate/cold" || g.Values[0] != 60 {
		t.Fatalf("%+v", g)
	}
	if g := c.Groups[1]; g.Label != "clerkgate/warm" || g.Values[0] != 0.2032 {
		t.Fatalf("%+v", g)
	}
	var b strings.Builder
	if err := c.Write(&b); err != nil || !strings.Contains(b.String(), "60.0 µs") || !strings.Contains(b.String(), "floor 50.0 µs") {
		t.Fatalf("%v\n%s", err, b.String())
	}
}
