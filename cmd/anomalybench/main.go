// Command anomalybench measures anomaly detection on the real dense series in
// ../shared/data/dense: how many injected anomalies each method finds, and
// how many alerts it raises on the series as they are.
//
//	go run ./cmd/anomalybench [-data DIR] [-seed N] [-n N] [-series SUBSTR] [-out FILE] [-j N]
//
// Every series is read as a meter read daily (the register at each local
// midnight; water meters their real, about hourly register) and as a meter
// read weekly (one reading every 7 ± 1 days at a random time between 07:00
// and 21:00, rounded down to 1 unit). Into copies of the readings it injects,
// one at a time and at seeded random places at least 60 days from either
// end, each kind: a spike (one day at 3–6 times its typical use), a stuck
// register (no change for 5–14 days, then the true value), a level shift
// (use ×1.5 or ×0.5 for 30–60 days), a leak (water only: a constant 2–5 L/h
// for 3–10 days) and a typo (one reading with two digits swapped, or ×10).
// An injection is found when an anomaly of any kind that the clean copy did
// not have overlaps the injected days; the kind is right when one of them
// has the injected kind. False alarms are the anomalies of the clean series
// per meter-year (one per event, as reported).
//
// The "clean" series are real data: they hold real events (holidays,
// closures, the 2020 lockdown, refurbishments, a household's leak), which
// every method is right to flag but which count as false alarms here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"

	"math/rand/v2"
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

var (
	methods  = []string{processing.MethodProfile, processing.MethodConsensus}
	variants = []string{"daily", "weekly"}
)

type config struct {
	Dir, Filter, Out string
	Seed             uint64
	N, Jobs          int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("anomalybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	dense.AddFlags(fs, &cfg.Dir, &cfg.Filter)
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of every random choice")
	fs.IntVar(&cfg.N, "n", 20, "injections per kind and series")
	fs.StringVar(&cfg.Out, "out", "", "also write the tables to this file")
	fs.IntVar(&cfg.Jobs, "j", runtime.GOMAXPROCS(0), "series evaluated in parallel")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := bench(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "anomalybench: %v\n", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, cfg config, stdout io.Writer) error {
	ds, err := dense.LoadAll(cfg.Dir, cfg.Filter)
	if err != nil {
		return err
	}
	all := make([]*series, len(ds))
	for i, d := range ds {
		all[i] = newSeries(d)
	}
	start := time.Now()
	results, err := evaluateAll(ctx, all, cfg)
	if err != nil {
		return err
	}
	var b strings.Builder
	writeTables(&b, results)
	fmt.Fprintf(&b, "\n%d series, %d injections per kind and series, seed %d, %s.\n",
		len(all), cfg.N, cfg.Seed, time.Since(start).Round(100*time.Millisecond))
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return err
	}
	if cfg.Out != "" {
		if err := os.WriteFile(cfg.Out, []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("write tables: %w", err)
		}
	}
	return nil
}

// counts are one method's tallies for a series and reading variant.
type counts struct {
	Alerts    int            // on the clean series
	ByKind    map[string]int // clean alerts per kind
	Injected  map[string]int // per injected kind
	Found     map[string]int
	KindRight map[string]int
}

// seriesResult holds counts[variant][method] for one series.
type seriesResult struct {
	s      *series
	years  [2]float64
	counts [2][2]counts
}

func evaluateAll(ctx context.Context, all []*series, cfg config) ([]seriesResult, error) {
	results := make([]seriesResult, len(all))
	errs := make([]error, len(all))
	if err := dense.Each(ctx, len(all), cfg.Jobs, func(i int) {
		results[i], errs[i] = evaluate(all[i], cfg)
	}); err != nil {
		return nil, err
	}
	return results, errors.Join(errs...)
}

func seedFor(seed uint64, parts ...string) (uint64, uint64) {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return seed, h.Sum64()
}

// detect builds the daily series as Process does and runs one method.
func detect(s *series, rs []processing.Reading, method string) ([]processing.Anomaly, error) {
	ser, err := processing.BuildDaily(rs, processing.DailyOptions{Location: s.Loc})
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", s.ID, err)
	}
	return processing.DetectAnomalies(ser.Days, rs, s.Loc, processing.AnomalyOptions{Method: method}), nil
}

// dayIndex is the index into s's days of the local date of t.
func (s *series) dayIndex(t time.Time) int {
	y, m, d := t.In(s.Loc).Date()
	y0, m0, d0 := s.Start.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(time.Date(y0, m0, d0, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

type alertKey struct {
	date time.Time
	days int
	kind string
}

func keyOf(a processing.Anomaly) alertKey { return alertKey{a.Date, a.Days, a.Kind} }

func evaluate(s *series, cfg config) (seriesResult, error) {
	res := seriesResult{s: s}
	times := weeklyTimes(s, rand.New(rand.NewPCG(seedFor(cfg.Seed, s.ID, "weekly"))))
	if len(times) < 2 {
		return res, fmt.Errorf("series %s: too short for weekly readings", s.ID)
	}
	inputs := [2]func([]processing.Reading) []processing.Reading{
		func(rs []processing.Reading) []processing.Reading { return rs },
		func(rs []processing.Reading) []processing.Reading { return readAt(rs, times) },
	}
	clean := [2][2]map[alertKey]bool{}
	for v := range variants {
		rs := inputs[v](s.Readings)
		res.years[v] = rs[len(rs)-1].Time.Sub(rs[0].Time).Hours() / 24 / 365.25
		for m, method := range methods {
			as, err := detect(s, rs, method)
			if err != nil {
				return res, err
			}
			c := &res.counts[v][m]
			*c = counts{Alerts: len(as), ByKind: map[string]int{}, Injected: map[string]int{},
				Found: map[string]int{}, KindRight: map[string]int{}}
			clean[v][m] = map[alertKey]bool{}
			for _, a := range as {
				c.ByKind[a.Kind]++
				clean[v][m][keyOf(a)] = true
			}
		}
	}
	for _, kind := range kinds {
		rng := rand.New(rand.NewPCG(seedFor(cfg.Seed, s.ID, kind)))
		for range cfg.N {
			in, ok := inject(s, kind, rng)
			if !ok {
				break
			}
			for v := range variants {
				rs := inputs[v](in.Readings)
				from, to := in.From, in.To
				if kind == processing.AnomalyTypo && v == 1 {
					// Sparse: the typo is in a reading the person took.
					var ok bool
					if rs, from, to, ok = sparseTypo(s, inputs[v](s.Readings), in.TypoDay, rng); !ok {
						continue
					}
				}
				for m, method := range methods {
					as, err := detect(s, rs, method)
					if err != nil {
						return res, err
					}
					c := &res.counts[v][m]
					c.Injected[kind]++
					found, right := false, false
					for _, a := range as {
						i := s.dayIndex(a.Date)
						if clean[v][m][keyOf(a)] || i >= to || i+max(a.Days, 1) <= from {
							continue
						}
						found = true
						right = right || a.Kind == kind
					}
					if found {
						c.Found[kind]++
					}
					if right {
						c.KindRight[kind]++
					}
				}
			}
		}
	}
	return res, nil
}

// sparseTypo puts a typo into the first weekly reading on or after day,
// and returns the days from the reading before it to the one after.
func sparseTypo(s *series, rs []processing.Reading, day int, rng *rand.Rand) ([]processing.Reading, int, int, bool) {
	j := 0
	for j < len(rs) && s.dayIndex(rs[j].Time) < day {
		j++
	}
	if j == 0 || j+1 >= len(rs) {
		return nil, 0, 0, false
	}
	out := make([]processing.Reading, len(rs))
	copy(out, rs)
	out[j].Value = typo(out[j].Value, rng)
	return out, s.dayIndex(rs[j-1].Time), s.dayIndex(rs[j+1].Time) + 1, true
}

func ratio(a, b int) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

// writeTables prints the recall table (per utility, reading variant and
// kind) and the false-alarm table (per utility and variant), pooled over
// the series of a utility.
func writeTables(w io.Writer, results []seriesResult) {
	utilities := []string{"electricity", "gas", "water"}
	fmt.Fprintln(w, "Recall of injected anomalies (found: any new anomaly overlaps the injected days; kind: one of them has the injected kind)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| utility | readings | kind | injected | found profile | kind profile | found consensus | kind consensus |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, u := range utilities {
		for v, vn := range variants {
			for _, k := range kinds {
				var inj, found, right [2]int
				for _, r := range results {
					if r.s.Utility != u {
						continue
					}
					for m := range methods {
						c := r.counts[v][m]
						inj[m] += c.Injected[k]
						found[m] += c.Found[k]
						right[m] += c.KindRight[k]
					}
				}
				if inj[0] == 0 {
					continue
				}
				fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %s | %s | %s |\n", u, vn, k, inj[0],
					ratio(found[0], inj[0]), ratio(right[0], inj[0]), ratio(found[1], inj[1]), ratio(right[1], inj[1]))
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "False alarms per meter-year on the clean (real) series")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| utility | readings | series | years | profile | profile by kind | consensus |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, u := range utilities {
		for v, vn := range variants {
			n, years := 0, 0.0
			var alerts [2]int
			byKind := map[string]int{}
			for _, r := range results {
				if r.s.Utility != u {
					continue
				}
				n++
				years += r.years[v]
				for m := range methods {
					alerts[m] += r.counts[v][m].Alerts
				}
				for k, c := range r.counts[v][0].ByKind {
					byKind[k] += c
				}
			}
			if n == 0 {
				continue
			}
			var parts []string
			for _, k := range kinds {
				if byKind[k] > 0 {
					parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(byKind[k])/years))
				}
			}
			fmt.Fprintf(w, "| %s | %s | %d | %.1f | %.2f | %s | %.2f |\n", u, vn, n, years,
				float64(alerts[0])/years, strings.Join(parts, ", "), float64(alerts[1])/years)
		}
	}
}
