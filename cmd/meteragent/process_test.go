package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

var update = flag.Bool("update", false, "rewrite testdata/demo/golden/*.csv")

const (
	demoDir  = "../../testdata/demo"
	seedDir  = "../../../shared/data/seed-config"
	demoTo   = "2026-11-27"
	demoFrom = "2020-01-01"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC) }

// runCmd runs the program in-process and returns its exit code and output.
func runCmd(t testing.TB, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runEnv(ctx, &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, now: fixedNow}, args)
	return code, stdout.String(), stderr.String()
}

func processDemo(t testing.TB, ctx context.Context, configDir, out string, extra ...string) string {
	t.Helper()
	args := append([]string{"process", "--config", configDir, "--readings", filepath.Join(demoDir, "readings.csv"), "--out", out, "--to", demoTo}, extra...)
	code, stdout, stderr := runCmd(t, ctx, args...)
	if code != 0 {
		t.Fatalf("process exit %d\nstderr:\n%s", code, stderr)
	}
	return stdout
}

// csvFile is a parsed output: header plus rows of fields.
type csvFile struct {
	header string
	rows   [][]string
}

func readCSV(t testing.TB, path string) csvFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	f := csvFile{header: lines[0]}
	for _, l := range lines[1:] {
		f.rows = append(f.rows, strings.Split(l, ","))
	}
	return f
}

func TestProcessGolden(t *testing.T) {
	out := t.TempDir()
	summary := processDemo(t, t.Context(), demoDir, out)
	t.Logf("summary:\n%s", summary)

	for _, name := range []string{dailyFile, monthlyFile, anomaliesFile} {
		golden := filepath.Join(demoDir, "golden", name)
		if *update {
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		compareCSV(t, name, readCSV(t, filepath.Join(out, name)), readCSV(t, golden))
	}
	if n := strings.Count(summary, "\n"); n > summaryLines+2 {
		t.Errorf("summary has %d lines, want at most about %d", n, summaryLines)
	}
}

// compareCSV compares two outputs field by field; numbers may differ in the
// last bits (FMA on arm64), everything else must match exactly.
func compareCSV(t *testing.T, name string, got, want csvFile) {
	t.Helper()
	if got.header != want.header {
		t.Errorf("%s header = %q, want %q", name, got.header, want.header)
	}
	if len(got.rows) != len(want.rows) {
		t.Errorf("%s has %d rows, golden %d (regenerate with -update if intended)", name, len(got.rows), len(want.rows))
	}
	bad := 0
	for i := range min(len(got.rows), len(want.rows)) {
		g, w := got.rows[i], want.rows[i]
		if !rowsMatch(g, w) {
			t.Errorf("%s row %d = %v, golden %v", name, i+2, g, w)
			if bad++; bad == 10 {
				t.Fatalf("%s: too many differences (regenerate with -update if intended)", name)
			}
		}
	}
}

func rowsMatch(g, w []string) bool {
	if len(g) != len(w) {
		return false
	}
	for j := range g {
		if g[j] == w[j] {
			continue
		}
		a, err1 := strconv.ParseFloat(g[j], 64)
		b, err2 := strconv.ParseFloat(w[j], 64)
		if err1 != nil || err2 != nil || math.Abs(a-b) > 2e-6*max(1, math.Abs(b)) {
			return false
		}
	}
	return true
}

// demoReading is one line of the demo readings, parsed by the time package
// rather than by the code under test.
type demoReading struct {
	meter string
	t     time.Time
	value float64
}

func readDemoReadings(t *testing.T) []demoReading {
	t.Helper()
	f, err := os.Open(filepath.Join(demoDir, "readings.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	var rs []demoReading
	for sc.Scan() {
		p := strings.Split(sc.Text(), ",")
		ts, err := time.Parse(time.RFC3339, p[1])
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(p[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, demoReading{p[0], ts, v})
	}
	return rs
}

type dayRow struct {
	reading, consumption float64 // NaN when empty
	quality              string
}

func parseNum(t *testing.T, s string) float64 {
	t.Helper()
	if s == "" {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("bad number %q: %v", s, err)
	}
	return v
}

// TestProcessDemoFacts checks properties of the demo output that follow from
// the input and the definitions alone, not from the golden files.
func TestProcessDemoFacts(t *testing.T) {
	loc := berlin(t)
	out := t.TempDir()
	processDemo(t, t.Context(), demoDir, out)

	daily := map[string]map[string]dayRow{} // meter → date → row
	var order []string
	for _, r := range readCSV(t, filepath.Join(out, dailyFile)).rows {
		if daily[r[0]] == nil {
			daily[r[0]] = map[string]dayRow{}
			order = append(order, r[0])
		}
		daily[r[0]][r[1]] = dayRow{parseNum(t, r[2]), parseNum(t, r[3]), r[4]}
	}

	t.Run("every meter", func(t *testing.T) {
		want := demoMeterIDs(t)
		if len(want) != 26 {
			t.Fatalf("meters.yaml has %d meters, want 26", len(want))
		}
		got := slices.Sorted(slices.Values(order))
		if !slices.Equal(got, want) {
			t.Errorf("daily.csv meters = %v, want %v", got, want)
		}
	})

	t.Run("days in range", func(t *testing.T) {
		for id, days := range daily {
			for d := range days {
				if d < demoFrom || d > demoTo {
					t.Errorf("%s has day %s outside %s..%s", id, d, demoFrom, demoTo)
				}
			}
		}
	})

	readings := readDemoReadings(t)
	midnight := func(r demoReading) (string, bool) {
		lt := r.t.In(loc)
		h, m, s := lt.Clock()
		return lt.Format(dateLayout), h == 0 && m == 0 && s == 0
	}

	t.Run("midnight readings reproduced", func(t *testing.T) {
		n := 0
		for _, r := range readings {
			d, ok := midnight(r)
			if !ok || d > demoTo {
				continue
			}
			row, ok := daily[r.meter][d]
			if !ok {
				t.Errorf("%s: no day %s for the reading %v at midnight", r.meter, d, r.value)
				continue
			}
			n++
			if math.Abs(row.reading-r.value) > 1e-6 {
				t.Errorf("%s %s: reading %v, want the real reading %v", r.meter, d, row.reading, r.value)
			}
		}
		if n < 700 { // two years of hourly haupt_strom
			t.Errorf("only %d midnight readings checked", n)
		}
	})

	t.Run("consumption between readings", func(t *testing.T) {
		// Between two real readings at midnights, the days' use must add
		// up to the difference of the readings.
		prev := map[string]demoReading{}
		n := 0
		for _, r := range readings {
			d, ok := midnight(r)
			if !ok || d > demoTo {
				continue
			}
			if p, ok := prev[r.meter]; ok {
				n++
				sum := 0.0
				from, _ := midnight(p)
				for day := p.t.In(loc); day.Format(dateLayout) < d; day = day.AddDate(0, 0, 1) {
					sum += daily[r.meter][day.Format(dateLayout)].consumption
				}
				if want := r.value - p.value; math.Abs(sum-want) > 1e-5 {
					t.Errorf("%s %s..%s: days sum to %v, readings differ by %v", r.meter, from, d, sum, want)
				}
			}
			prev[r.meter] = r
		}
		if n < 700 {
			t.Errorf("only %d intervals checked", n)
		}
	})

	t.Run("month is the sum of its days", func(t *testing.T) {
		for _, r := range readCSV(t, filepath.Join(out, monthlyFile)).rows {
			id, month, want := r[0], r[1], parseNum(t, r[3])
			sum, known := 0.0, 0
			for d, row := range daily[id] {
				if strings.HasPrefix(d, month+"-") && !math.IsNaN(row.consumption) {
					sum += row.consumption
					known++
				}
			}
			if known == 0 {
				if !math.IsNaN(want) {
					t.Errorf("%s %s: consumption %v without known days", id, month, want)
				}
				continue
			}
			if math.Abs(sum-want) > 1e-6*float64(known+1) {
				t.Errorf("%s %s: consumption %v, days sum to %v", id, month, want, sum)
			}
		}
	})

	t.Run("strom_allgemein", func(t *testing.T) {
		n := 0
		for d, row := range daily["strom_allgemein"] {
			if math.IsNaN(row.consumption) {
				continue
			}
			want := daily["strom_total"][d].consumption - daily["eg_strom"][d].consumption -
				daily["og1_strom"][d].consumption - daily["og2_strom"][d].consumption
			if math.IsNaN(want) {
				t.Errorf("%s: strom_allgemein %v but a part is unknown", d, row.consumption)
				continue
			}
			n++
			if math.Abs(row.consumption-want) > 1e-5 {
				t.Errorf("%s: strom_allgemein %v, strom_total − eg − og1 − og2 = %v", d, row.consumption, want)
			}
		}
		if n < 365*4 {
			t.Errorf("only %d days of strom_allgemein checked", n)
		}
	})
}

// demoMeterIDs reads the meter ids from meters.yaml with a plain text scan.
func demoMeterIDs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(demoDir, "meters.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range strings.Split(string(b), "\n") {
		if _, v, ok := strings.Cut(l, "- meter_id:"); ok {
			ids = append(ids, strings.Trim(strings.TrimSpace(v), `"`))
		}
	}
	slices.Sort(ids)
	return ids
}

// The user's own configuration directory, unchanged, must load and give the
// same meters as the demo copy.
func TestProcessSeedConfig(t *testing.T) {
	if _, err := os.Stat(seedDir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("seed config missing in CI: %v", err)
		}
		t.Skipf("seed config not available: %v", err)
	}
	demoOut, seedOut := t.TempDir(), t.TempDir()
	processDemo(t, t.Context(), demoDir, demoOut)
	processDemo(t, t.Context(), seedDir, seedOut, "--timezone", "Europe/Berlin", "--from", demoFrom)
	ids := func(dir string) []string {
		var ids []string
		for _, r := range readCSV(t, filepath.Join(dir, dailyFile)).rows {
			if len(ids) == 0 || ids[len(ids)-1] != r[0] {
				ids = append(ids, r[0])
			}
		}
		return ids
	}
	if got, want := ids(seedOut), ids(demoOut); !slices.Equal(got, want) {
		t.Errorf("seed config meters = %v, demo config meters = %v", got, want)
	}
}

func TestProcessBadReadings(t *testing.T) {
	const h = "meter_id,timestamp,value\n"
	tests := []struct {
		name, in, want string
	}{
		{"unparsable line", h + "eg_strom;2024-01-01;5\n", `:2: 1 columns, want 3 (meter_id,timestamp,value)`},
		{"unknown meter", h + "eg_strom,2024-01-01,5\nkeller_strom,2024-01-01,5\n", `:3: unknown meter "keller_strom": not a meter of the config`},
		{"virtual meter", h + "strom_allgemein,2024-01-01,5\n", `:2: meter "strom_allgemein" is a virtual meter: readings must name a physical meter`},
		{"non-numeric", h + "eg_strom,2024-01-01,5 kWh\n", `:2: value "5 kWh" is not a number`},
		{"bad timestamp", h + "eg_strom,2024-01-01 25:00,5\n", `:2: bad timestamp "2024-01-01 25:00": want RFC 3339 or YYYY-MM-DD HH:MM:SS`},
		{"two values", h + "eg_strom,2024-01-01T12:00:00+01:00,5\neg_strom,2024-01-01T11:00:00Z,6\n",
			`:3: meter "eg_strom" has two values at 2024-01-01T12:00:00+01:00: 6 here, 5 on line 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "r.csv")
			if err := os.WriteFile(file, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			old := filepath.Join(out, dailyFile)
			if err := os.WriteFile(old, []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCmd(t, t.Context(), "process", "--config", demoDir, "--readings", file, "--out", out, "--to", demoTo)
			if code != exitFailure {
				t.Errorf("exit code %d, want %d", code, exitFailure)
			}
			if want := file + tt.want; !strings.Contains(stderr, want+"\n") {
				t.Errorf("stderr = %q, want it to contain %q", stderr, want)
			}
			assertUntouched(t, out, old)
		})
	}
}

// assertUntouched checks that out holds only the old daily.csv, unchanged.
func assertUntouched(t *testing.T, out, old string) {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("out dir holds %v, want only the old %s", names, dailyFile)
	}
	if b, err := os.ReadFile(old); err != nil || string(b) != "old\n" {
		t.Errorf("old %s = %q, %v; want it untouched", dailyFile, b, err)
	}
}

func TestProcessBadConfig(t *testing.T) {
	cfg := demoConfigDir(t, func(name string, b []byte) []byte {
		if name == "meters.yaml" {
			// An installation date that is no date, on a known line.
			b = bytes.Replace(b, []byte(`installation_date: "2022-01-01"`), []byte(`installation_date: "2022-13-01"`), 1)
		}
		return b
	})
	line := 0
	b, _ := os.ReadFile(filepath.Join(cfg, "meters.yaml"))
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "2022-13-01") {
			line = i + 1
			break
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runCmd(t, t.Context(), "process", "--config", cfg, "--readings", filepath.Join(demoDir, "readings.csv"), "--out", out, "--to", demoTo)
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	if want := filepath.Join(cfg, "meters.yaml") + ":" + strconv.Itoa(line) + ":"; !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want it to name %s", stderr, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("out dir exists after a config error: %v", err)
	}
}

func TestUsage(t *testing.T) {
	r := filepath.Join(demoDir, "readings.csv")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"no command", nil, exitUsage, "", "Commands:"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, exitOK, "process", ""},
		{"version", []string{"version"}, exitOK, "meteragent dev", ""},
		{"process help", []string{"process", "-h"}, exitOK, "", "--readings"},
		{"missing config", []string{"process", "--readings", r, "--out", "x"}, exitUsage, "", "--config is required"},
		{"unknown flag", []string{"process", "--bogus"}, exitUsage, "", "flag provided but not defined: -bogus"},
		{"extra argument", []string{"process", "--config", demoDir, "--readings", r, "--out", "x", "more"}, exitUsage, "", `unexpected argument "more"`},
		{"bad to", []string{"process", "--config", demoDir, "--readings", r, "--out", "x", "--to", "27.11.2026"}, exitUsage, "", `--to "27.11.2026": want a date YYYY-MM-DD`},
		{"bad zone", []string{"process", "--config", demoDir, "--readings", r, "--out", "x", "--timezone", "Mars/Olympus"}, exitUsage, "", `--timezone "Mars/Olympus": unknown time zone`},
		{"from after to", []string{"process", "--config", demoDir, "--readings", r, "--out", "x", "--from", "2026-12-01", "--to", "2026-11-30"}, exitUsage, "", "--from 2026-12-01 is after --to 2026-11-30"},
		{"missing readings", []string{"process", "--config", demoDir, "--readings", "nope.csv", "--out", "x"}, exitFailure, "", "open nope.csv: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, t.Context(), tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.stderr)
			}
		})
	}
}

// --to defaults to today in the configured zone, taken from the env clock.
func TestProcessDefaultTo(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "r.csv")
	in := "meter_id,timestamp,value\neg_strom,2026-11-20T10:00:00+01:00,100\neg_strom,2026-11-25T10:00:00+01:00,150\n"
	if err := os.WriteFile(file, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	// 23:30 UTC on the 27th is already the 28th in Berlin.
	now := func() time.Time { return time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC) }
	code := runEnv(t.Context(), &env{stdout: &stdout, stderr: &stderr, now: now},
		[]string{"process", "--config", demoDir, "--readings", file, "--out", out, "--from", "2026-11-01"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	last := ""
	for _, r := range readCSV(t, filepath.Join(out, dailyFile)).rows {
		if r[0] == "eg_strom" {
			last = r[1]
		}
	}
	if last != "2026-11-28" {
		t.Errorf("last eg_strom day = %q, want 2026-11-28 (today in Europe/Berlin)", last)
	}
}

func BenchmarkProcessDemo(b *testing.B) {
	ctx := context.Background()
	out := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		var stdout, stderr bytes.Buffer
		code := runEnv(ctx, &env{stdout: &stdout, stderr: &stderr, now: fixedNow},
			[]string{"process", "--config", demoDir, "--readings", filepath.Join(demoDir, "readings.csv"), "--out", out, "--to", demoTo})
		if code != 0 {
			b.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
}

// appendNum must write what the obvious strconv expression writes.
func FuzzAppendNum(f *testing.F) {
	for _, v := range []float64{0, -0.0000004, 0.0000005, -0.0000005, 1, 0.1, 0.123456789, 68734.8, -2.661296924145457,
		12345678.9999995, 7999999999.9999995, 8e9, 8.5e9, 1e300, -1e-300, 4503599627.370496, math.NaN(), math.Inf(-1)} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		var want string
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
		case math.Abs(v) >= 8e9:
			want = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			r := math.Round(v*1e6) / 1e6
			if r == 0 {
				r = 0
			}
			want = strconv.FormatFloat(r, 'f', -1, 64)
		}
		if got := string(appendNum(nil, v)); got != want {
			t.Fatalf("appendNum(%v) = %q, want %q", v, got, want)
		}
	})
}

// TestAppendDate: the daily rows' dates, from a Day's calendar date.
func TestAppendDate(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "UTC"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for d := time.Date(2019, 12, 25, 0, 0, 0, 0, loc); d.Year() < 2026; d = d.AddDate(0, 0, 1) {
			y, m, dd := processing.DateOf(d).Civil()
			if got, want := string(appendDate(nil, y, m, dd)), d.Format(dateLayout); got != want {
				t.Fatalf("%s: date of %v = %s, want %s", zone, d, got, want)
			}
		}
	}
}

// TestProcessConsensusMethod: processing.anomaly_method: consensus selects
// the old 2-of-3 vote (kept for comparison): its anomalies name only the
// three statistical tests and the kinds spike or drop.
func TestProcessConsensusMethod(t *testing.T) {
	dir := demoConfigDir(t, func(name string, b []byte) []byte {
		if name == "config.yaml" {
			b = bytes.Replace(b, []byte(`  measured_gap: "3h"`), []byte("  measured_gap: \"3h\"\n  anomaly_method: consensus"), 1)
			if !bytes.Contains(b, []byte("anomaly_method")) {
				t.Fatal("demo config.yaml changed: no measured_gap line to extend")
			}
		}
		return b
	})
	out := t.TempDir()
	processDemo(t, t.Context(), dir, out)
	rows := readCSV(t, filepath.Join(out, anomaliesFile)).rows
	if len(rows) == 0 {
		t.Fatal("consensus found no anomaly in the demo house")
	}
	for _, r := range rows {
		for _, test := range strings.Split(r[5], "+") {
			if test != "zscore" && test != "iqr" && test != "rolling" {
				t.Errorf("row %v: test %q is not one of the consensus tests", r, test)
			}
		}
		if r[6] != "spike" && r[6] != "drop" {
			t.Errorf("row %v: kind %q, want spike or drop", r, r[6])
		}
	}
}

// An output set replaces nothing when one of its files cannot be put in
// place, and leaves no temporary files behind; Abort does the same.
func TestOutputSetAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.csv"), []byte("old b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// a.csv is a directory with a file in it: no file can be renamed over it.
	if err := os.MkdirAll(filepath.Join(dir, "a.csv", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := func(s string) func(*bufio.Writer) { return func(w *bufio.Writer) { w.WriteString(s) } }
	set, err := newOutputSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	set.Go(outFile{"a.csv", text("new a\n")})
	set.Go(outFile{"b.csv", text("new b\n")})
	if err := set.Commit(); err == nil || !strings.Contains(err.Error(), "a.csv") {
		t.Fatalf("Commit: %v, want an error naming a.csv", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b.csv")); string(b) != "old b\n" {
		t.Errorf("b.csv = %q, want the old content", b)
	}

	set, err = newOutputSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	set.Go(outFile{"b.csv", text("new b\n")})
	set.Abort()
	if b, _ := os.ReadFile(filepath.Join(dir, "b.csv")); string(b) != "old b\n" {
		t.Errorf("after Abort b.csv = %q, want the old content", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	set, err = newOutputSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	set.Go(outFile{"b.csv", text("new b\n")})
	set.Go(outFile{"c.csv", text("c\n")})
	if err := set.Commit(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"b.csv": "new b\n", "c.csv": "c\n"} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
	}
}

// demoConfigDir copies the demo house's three config files into a temp dir,
// each passed through edit on the way.
func demoConfigDir(t testing.TB, edit func(name string, b []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config.yaml", "meters.yaml", "seasonal_patterns.yaml"} {
		b, err := os.ReadFile(filepath.Join(demoDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), edit(name, b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// When the derived meters cannot be built, computeAndWrite stops the
// daily.csv it began with the physical meters: nothing is replaced and no
// temporary file is left.
func TestComputeAndWriteDeriveError(t *testing.T) {
	loc := time.UTC
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, loc) }
	house := processing.House{Location: loc, Meters: []processing.Meter{
		{ID: "a", Kind: processing.Physical},
		{ID: "b", Kind: processing.Physical},
		// A period without a start passes NewPlan but fails Derive.
		{ID: "m", Kind: processing.Master, Periods: []processing.Period{{Sources: []string{"a"}}}},
	}}
	rs := []processing.Reading{{Time: day(1), Value: 1}, {Time: day(5), Value: 5}}
	readings := map[string][]processing.Reading{"a": rs, "b": rs}
	plan, err := processing.NewPlan(house, processing.RunOptions{From: day(1), To: day(10)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, dailyFile), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := newOutputSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = computeAndWrite(context.Background(), plan, readings, set, 2)
	if err == nil || !strings.Contains(err.Error(), `master "m"`) {
		t.Fatalf("computeAndWrite: %v, want the master's error", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, dailyFile)); string(b) != "old\n" {
		t.Errorf("daily.csv = %q, want the old content", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want daily.csv alone", len(entries))
	}
}

// The schedule calls write for every meter in order, each once its days
// are final, and computes what Process computes, on any number of workers
// (processConcurrently's tests cover the rest: results and first error).
func TestScheduleWritesInOrder(t *testing.T) {
	house, readings, opt := demoInput(t)
	want, err := processing.Process(house, readings, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2, 5} {
		plan, err := processing.NewPlan(house, opt)
		if err != nil {
			t.Fatal(err)
		}
		s := newSchedule(plan)
		var mu sync.Mutex
		var order []int
		s.write = func(j int) {
			if days := plan.Series(j).Days; len(days) != len(want.Meters[j].Days) {
				t.Errorf("workers=%d: write(%d) with %d days, want %d", workers, j, len(days), len(want.Meters[j].Days))
			}
			mu.Lock()
			defer mu.Unlock()
			order = append(order, j)
		}
		if err := s.run(readings, workers); err != nil {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		if len(order) != s.n || !slices.IsSorted(order) || order[0] != 0 || order[len(order)-1] != s.n-1 {
			t.Errorf("workers=%d: write called for %v, want 0 … %d in order", workers, order, s.n-1)
		}
		sameResult(t, fmt.Sprintf("workers=%d", workers), plan.Result(), want)
	}
}

// BenchmarkWriteDaily formats the demo house's daily.csv (ns/row: per row).
func BenchmarkWriteDaily(b *testing.B) {
	house, readings, opt := demoInput(b)
	res, err := processConcurrently(house, readings, opt, 2)
	if err != nil {
		b.Fatal(err)
	}
	rows := 0
	for _, m := range res.Meters {
		rows += len(m.Days)
	}
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	for b.Loop() {
		writeDaily(w, res)
		w.Flush()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
}

// An output created but never done fails the commit, which replaces
// nothing and leaves no temporary file.
func TestOutputSetNotDone(t *testing.T) {
	dir := t.TempDir()
	set, err := newOutputSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := set.Create("a.csv")
	a.W.WriteString("a\n")
	a.Done()
	set.Create("b.csv").W.WriteString("b\n")
	if err := set.Commit(); err == nil || !strings.Contains(err.Error(), "b.csv: output not complete") {
		t.Fatalf("Commit: %v, want b.csv not complete", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("directory holds %d entries, want none", len(entries))
	}
}

// A house without meters still gets its three files, headers only.
func TestComputeAndWriteNoMeters(t *testing.T) {
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	plan, err := processing.NewPlan(processing.House{Location: time.UTC}, processing.RunOptions{From: day, To: day})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	set, err := newOutputSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := computeAndWrite(context.Background(), plan, nil, set, 2); err != nil {
		t.Fatal(err)
	}
	if err := set.Commit(); err != nil {
		t.Fatal(err)
	}
	for name, header := range map[string]string{dailyFile: dailyHeader, monthlyFile: monthlyHeader, anomaliesFile: anomaliesHeader} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != header+"\n" {
			t.Errorf("%s = %q, %v; want the header alone", name, b, err)
		}
	}
}
