// Command benchtable turns `go test -bench` output into the Markdown table
// docs/BENCHMARKS.md shows: per benchmark the median ns/op, B/op and
// allocs/op, and its ratio to a baseline benchmark of the same run.
//
// The n-th result of each benchmark is paired with the n-th result of the
// baseline, and the table shows the median of those ratios, so repeat the
// run (-count, or several invocations concatenated) and keep the baseline
// in it:
//
//	go test -run '^$' -bench . -count 10 . | go run ./cmd/benchtable
//	go test -run '^$' -bench 'BareHandler|MiddlewareWarm' -count 10 .. |
//		go run ./cmd/benchtable -base BenchmarkBareHandler
//
// With -chart, it also draws the medians as an SVG bar chart, with the
// baseline as a dashed line.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/clerkgate/clerkgate/bench/internal/svgchart"
)

func main() {
	base := flag.String("base", "BenchmarkVerify/floor", "baseline benchmark, without the -GOMAXPROCS suffix")
	chartFile := flag.String("chart", "", "also write an SVG bar chart of the medians to this file")
	title := flag.String("chart-title", "Verifying one Clerk session token: median µs per call (shorter is better; dashed: the bare RSA check)", "the chart's title")
	flag.Parse()
	runs, meta, err := parse(os.Stdin)
	if err == nil {
		err = write(os.Stdout, runs, meta, *base)
	}
	if err == nil && *chartFile != "" {
		err = writeChartFile(*chartFile, runs, *base, *title)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// result is one benchmark line.
type result struct {
	ns, bytes, allocs float64
}

// runs holds each benchmark's results in input order; order keeps the
// benchmarks in order of first appearance.
type runs struct {
	order []string
	by    map[string][]result
}

// parse reads benchmark lines and the cpu/goos/goarch header lines.
func parse(r io.Reader) (runs, []string, error) {
	rs := runs{by: map[string][]result{}}
	var meta []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if k, _, ok := strings.Cut(line, ": "); ok && (k == "cpu" || k == "goos" || k == "goarch") {
			if !slices.Contains(meta, line) {
				meta = append(meta, line)
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		var res result
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				res.ns = v
			case "B/op":
				res.bytes = v
			case "allocs/op":
				res.allocs = v
			}
		}
		if res.ns == 0 {
			continue
		}
		if _, seen := rs.by[name]; !seen {
			rs.order = append(rs.order, name)
		}
		rs.by[name] = append(rs.by[name], res)
	}
	return rs, meta, sc.Err()
}

func write(w io.Writer, rs runs, meta []string, base string) error {
	baseRuns := rs.by[base]
	if len(baseRuns) == 0 {
		return errors.New("no results for the baseline " + base)
	}
	for _, m := range meta {
		fmt.Fprintf(w, "%s  \n", m)
	}
	fmt.Fprintf(w, "\n| benchmark | runs | ns/op | B/op | allocs/op | ÷ %s | − %s |\n", shortName(base), shortName(base))
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, name := range rs.order {
		res := rs.by[name]
		var ns, bytes, allocs, ratio, diff []float64
		for i, r := range res {
			ns, bytes, allocs = append(ns, r.ns), append(bytes, r.bytes), append(allocs, r.allocs)
			if i < len(baseRuns) {
				ratio = append(ratio, r.ns/baseRuns[i].ns)
				diff = append(diff, r.ns-baseRuns[i].ns)
			}
		}
		fmt.Fprintf(w, "| %s | %d | %s | %.0f | %.0f | %.2f× | %s |\n",
			name, len(res), formatNs(median(ns)), median(bytes), median(allocs), median(ratio), formatNs(median(diff)))
	}
	fmt.Fprintf(w, "\nMedians over runs. The ratio and the difference pair the n-th run of each benchmark with the n-th run of %s.\n", base)
	return nil
}

// chart is the medians in µs, one bar per benchmark but the baseline,
// which is the dashed line.
func chart(rs runs, base, title string) svgchart.Chart {
	c := svgchart.Chart{Title: title, Unit: "µs", Series: []string{"median of the runs"}}
	for _, name := range rs.order {
		var ns []float64
		for _, r := range rs.by[name] {
			ns = append(ns, r.ns)
		}
		if name == base {
			c.Reference = median(ns) / 1000
			c.RefLabel = fmt.Sprintf("%s %.1f µs", shortName(base), c.Reference)
			continue
		}
		c.Groups = append(c.Groups, svgchart.Group{Label: strings.TrimPrefix(name, "BenchmarkVerify/"), Values: []float64{median(ns) / 1000}})
	}
	return c
}

func writeChartFile(path string, rs runs, base, title string) error {
	var b bytes.Buffer
	if err := chart(rs, base, title).Write(&b); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func shortName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return strings.TrimPrefix(name, "Benchmark")
}

func formatNs(ns float64) string {
	if ns >= 1000 || ns <= -1000 {
		return strconv.FormatFloat(ns, 'f', 0, 64)
	}
	return strconv.FormatFloat(ns, 'f', 1, 64)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
