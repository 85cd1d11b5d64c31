// Command accuracy measures how well meteragent rebuilds daily use from sparse
// readings, against the old pipeline's time-linear interpolation, on the real
// dense series in ../shared/data/dense (protocol in ../shared/data/README.md).
//
//	go run ./cmd/accuracy [-data DIR] [-seed N] [-series SUBSTR] [-out FILE] [-per-series]
//
// For every series and reading scheme (every 7, 14 or 30 days, or irregular
// 3–45 days) it simulates a person reading the meter: one reading per
// interval, shifted by up to ±round(D/7) days, at a random time between 07:00
// and 21:00, rounded down to 1 kWh or 1 L. The Cambridge series have no
// register within a day, so use is assumed uniform through each day; the
// water series read their real hourly register. Both methods rebuild the
// days from those readings alone with processing.BuildDaily and are scored
// over the days strictly between the first and last reading's days, skipping
// days marked invalid. Sums are pooled over the series of a utility.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/meteragent/meteragent/cmd/internal/dense"
	"github.com/meteragent/meteragent/processing"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// result is the scores of every method for one series under one scheme.
type result struct {
	series  *series
	scheme  scheme
	scores  []score
	notes   []string
	elapsed time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("accuracy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dataDir, filter string
	dense.AddFlags(fs, &dataDir, &filter)
	seed := fs.Uint64("seed", 1, "seed of every random choice")
	only := fs.String("scheme", "", "only this scheme (7, 14, 30 or 3-45)")
	out := fs.String("out", "", "also write the table to this file")
	perSeries := fs.Bool("per-series", false, "also print one row per series")
	jobs := fs.Int("j", runtime.GOMAXPROCS(0), "series evaluated in parallel")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := bench(ctx, benchConfig{
		Dir: dataDir, Seed: *seed, Filter: filter, Scheme: *only,
		Out: *out, PerSeries: *perSeries, Jobs: *jobs,
	}, stdout); err != nil {
		fmt.Fprintf(stderr, "accuracy: %v\n", err)
		return 1
	}
	return 0
}

type benchConfig struct {
	Dir, Filter, Scheme, Out string
	Seed                     uint64
	PerSeries                bool
	Jobs                     int
}

func bench(ctx context.Context, cfg benchConfig, stdout io.Writer) error {
	ds, err := dense.LoadAll(cfg.Dir, cfg.Filter)
	if err != nil {
		return err
	}
	all := make([]*series, len(ds))
	for i, d := range ds {
		all[i] = newSeries(d)
	}
	var scs []scheme
	for _, sc := range schemes {
		if cfg.Scheme == "" || cfg.Scheme == sc.Name || (sc.D == 0 && cfg.Scheme == "3-45") {
			scs = append(scs, sc)
		}
	}
	if len(scs) == 0 {
		return fmt.Errorf("unknown scheme %q (want 7, 14, 30 or 3-45)", cfg.Scheme)
	}
	// The oracle column is a reference, not a competitor: see oracleMethod.
	methods := []method{linearMethod, meteragentMethod(processing.ProfileOptions{}), oracleMethod(31), oracleMethod(91)}
	start := time.Now()
	results, err := evaluateAll(ctx, all, scs, cfg.Seed, methods, cfg.Jobs, cfg.PerSeries)
	if err != nil {
		return err
	}
	var b strings.Builder
	writeTable(&b, results, scs, methods)
	if cfg.PerSeries {
		b.WriteString("\n")
		writePerSeries(&b, results)
	}
	fmt.Fprintf(&b, "\n%d series, seed %d, %s.\n", len(all), cfg.Seed, time.Since(start).Round(100*time.Millisecond))
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}
	if cfg.Out != "" {
		if err := os.WriteFile(cfg.Out, []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	return nil
}

// evaluateAll runs every series under every scheme on jobs workers.
func evaluateAll(ctx context.Context, all []*series, scs []scheme, seed uint64, methods []method, jobs int, explain bool) ([]result, error) {
	type job struct {
		s  *series
		sc scheme
	}
	var work []job
	for _, s := range all {
		for _, sc := range scs {
			work = append(work, job{s, sc})
		}
	}
	results := make([]result, len(work))
	errs := make([]error, len(work))
	if err := dense.Each(ctx, len(work), jobs, func(i int) {
		j := work[i]
		t0 := time.Now()
		sc, notes, err := evaluate(j.s, j.sc, seed, methods, explain)
		results[i] = result{series: j.s, scheme: j.sc, scores: sc, notes: notes, elapsed: time.Since(t0)}
		errs[i] = err
	}); err != nil {
		return nil, err
	}
	return results, errors.Join(errs...)
}

// pooled sums the scores of every series of a utility under a scheme.
func pooled(results []result, utility string, sc scheme, nm int) []score {
	out := make([]score, nm)
	for _, r := range results {
		if r.series.Utility != utility || r.scheme != sc {
			continue
		}
		for k := range out {
			out[k].add(r.scores[k])
		}
	}
	return out
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*v)
}

func signedPct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%+.1f %%", 100*v)
}

// writeTable prints the Markdown table: one row per utility and scheme.
func writeTable(w io.Writer, results []result, scs []scheme, methods []method) {
	fmt.Fprintln(w, "| utility | D (days) | series | daily NMAE linear | daily NMAE meteragent | change | bias linear | bias meteragent | monthly error linear | monthly error meteragent | oracle 31 d / 91 d change |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, u := range []string{"electricity", "gas", "water"} {
		for _, sc := range scs {
			n := 0
			for _, r := range results {
				if r.series.Utility == u && r.scheme == sc {
					n++
				}
			}
			if n == 0 {
				continue
			}
			p := pooled(results, u, sc, len(methods))
			lin, ma := p[0], p[1]
			oracle := "–"
			if len(p) > 3 {
				oracle = signedPct(p[2].NMAE()/lin.NMAE()-1) + " / " + signedPct(p[3].NMAE()/lin.NMAE()-1)
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				u, sc.Name, n, pct(lin.NMAE()), pct(ma.NMAE()), signedPct(ma.NMAE()/lin.NMAE()-1),
				signedPct(lin.NMBE()), signedPct(ma.NMBE()),
				pct(lin.MonthlyMedian()), pct(ma.MonthlyMedian()), oracle)
		}
	}
}

// writePerSeries prints one row per series and scheme, with the method the
// profile learner chose.
func writePerSeries(w io.Writer, results []result) {
	fmt.Fprintln(w, "| series | D | NMAE linear | NMAE meteragent | change | profile |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range results {
		lin, ma := r.scores[0], r.scores[1]
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.series.ID, r.scheme.Name,
			pct(lin.NMAE()), pct(ma.NMAE()), signedPct(ma.NMAE()/lin.NMAE()-1), r.notes[1])
	}
}
