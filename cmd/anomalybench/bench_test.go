package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/cmd/internal/dense"
	"github.com/meteragent/meteragent/cmd/internal/dense/densetest"
	"github.com/meteragent/meteragent/processing"
)

// writeSynthetic writes a tiny dense set: an electricity series with a
// weekly shape and 4 % noise (daily file only), and a water series whose
// household uses water only by day (hourly readings), so that every night
// is dry.
func writeSynthetic(t *testing.T, days int) string {
	t.Helper()
	files := map[string]string{
		"index.csv": "series_id,utility,unit\nsyn_elec,electricity,kWh\ndaiad_water_syn,water (household),litre\n",
	}

	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("date,consumption,cumulative_value,n_obs,n_zero_obs,valid\n")
	c := 0.0
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range days {
		d := start.AddDate(0, 0, i)
		u := 500.0
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			u = 350
		}
		u *= 1 + 0.04*r.NormFloat64()
		c += u
		fmt.Fprintf(&b, "%s,%.1f,%.1f,24,0,1\n", d.Format(time.DateOnly), u, c)
	}
	files["syn_elec.csv"] = b.String()

	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Skipf("Europe/Madrid unavailable: %v", err)
	}
	var daily, hourly strings.Builder
	daily.WriteString("date,consumption,cumulative_value,n_obs,n_zero_obs,valid\n")
	hourly.WriteString("timestamp_local,register_litre\n")
	reg := 10000.0
	for i := range days {
		d := time.Date(2020, 1, 1+i, 0, 0, 0, 0, madrid)
		before := reg
		for h := range 24 {
			fmt.Fprintf(&hourly, "%s,%.0f\n", d.Add(time.Duration(h)*time.Hour).Format(time.DateTime), math.Floor(reg))
			if h >= 7 && h < 23 && r.IntN(2) == 0 {
				reg += 10 + 20*r.Float64()
			}
		}
		fmt.Fprintf(&daily, "%s,%.1f,%.1f,24,,1\n", d.Format(time.DateOnly), reg-before, reg)
	}
	files["daiad_water_syn.csv"] = daily.String()
	files["hourly/daiad_water_syn_readings.csv"] = hourly.String()
	return densetest.Write(t, files)
}

// cell returns column col (0-based, after the leading "|") of the table row
// that starts with prefix.
func cell(t *testing.T, out, prefix string, col int) string {
	t.Helper()
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			f := strings.Split(strings.Trim(line, "|"), "|")
			return strings.TrimSpace(f[col])
		}
	}
	t.Fatalf("no row %q in\n%s", prefix, out)
	return ""
}

func TestBenchSynthetic(t *testing.T) {
	dir := writeSynthetic(t, 400)
	outFile := filepath.Join(t.TempDir(), "tables.md")
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"-data", dir, "-n", "4", "-out", outFile}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	written, err := os.ReadFile(outFile)
	if err != nil || string(written) != out.String() {
		t.Errorf("-out file differs from stdout (err %v)", err)
	}
	s := out.String()
	// Clean synthetic series hold no event: no method may alarm on the
	// electricity one, and the profile method on neither.
	_, fa, _ := strings.Cut(s, "False alarms")
	for _, row := range []string{"| electricity | daily |", "| water | daily |"} {
		if got := cell(t, fa, row, 4); got != "0.00" {
			t.Errorf("%s false alarms of profile = %s, want 0.00", row, got)
		}
	}
	// Spikes of 3–6 typical days on 4 % noise, a stand-still of a meter
	// that always runs, a night leak of a household dry every night: the
	// profile method finds each, with the right kind.
	for _, row := range []string{
		"| electricity | daily | spike |", "| electricity | daily | stuck |",
		"| water | daily | spike |", "| water | daily | stuck |", "| water | daily | leak |",
	} {
		if n := cell(t, s, row, 3); n != "4" {
			t.Errorf("%s injected %s, want 4", row, n)
		}
		if got := cell(t, s, row, 5); got != "1.00" {
			t.Errorf("%s profile kind recall = %s, want 1.00", row, got)
		}
	}
	// The consensus method has no kinds beyond spike and drop.
	if got := cell(t, s, "| water | daily | leak |", 7); got != "0.00" {
		t.Errorf("consensus leak kind recall = %s, want 0.00", got)
	}
	if strings.Contains(s, "| electricity | daily | leak |") {
		t.Error("leaks injected into an electricity series")
	}
}

func TestMissingDataFailsClearly(t *testing.T) { densetest.MissingDirFails(t, run) }

func TestTypo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for range 200 {
		v := math.Floor(r.Float64()*1e6) + 0.5
		got := typo(v, r)
		if got == v {
			t.Fatalf("typo(%v) = %v, unchanged", v, got)
		}
		if got == v*10 {
			continue
		}
		a := []byte(fmt.Sprintf("%.1f", v))
		b := []byte(fmt.Sprintf("%.1f", got))
		slices.Sort(a)
		slices.Sort(b)
		if !bytes.Equal(a, b) || math.Floor(got) != got-0.5 {
			t.Errorf("typo(%v) = %v: neither ×10 nor two digits swapped", v, got)
		}
	}
}

func TestInject(t *testing.T) {
	dir := writeSynthetic(t, 300)
	for _, id := range []string{"syn_elec", "daiad_water_syn"} {
		d, err := dense.Load(dir, dense.Entry{ID: id, Utility: "x"})
		if err != nil {
			t.Fatal(err)
		}
		s := newSeries(d)
		r := rand.New(rand.NewPCG(5, 5))
		for _, kind := range kinds {
			in, ok := inject(s, kind, r)
			if kind == processing.AnomalyLeak && !s.Hourly {
				if ok {
					t.Errorf("%s: leak injected without hourly readings", id)
				}
				continue
			}
			if !ok || in.From < margin-1 || in.To > len(s.Use)-margin+1 || in.From >= in.To {
				t.Fatalf("%s %s: ok %v, days [%d, %d) of %d", id, kind, ok, in.From, in.To, len(s.Use))
			}
			last := len(in.Readings) - 1
			diff := in.Readings[last].Value - s.Readings[last].Value
			switch kind {
			case processing.AnomalyStuck, processing.AnomalyTypo:
				if diff != 0 {
					t.Errorf("%s %s: final register off by %v, want the true value", id, kind, diff)
				}
			case processing.AnomalySpike, processing.AnomalyLeak:
				if !(diff > 0) {
					t.Errorf("%s %s: final register +%v, want extra use", id, kind, diff)
				}
			case processing.AnomalyLevelShift:
				if diff == 0 {
					t.Errorf("%s %s: final register unchanged", id, kind)
				}
			}
			// Except for a typo the register never runs backwards.
			for i := 1; kind != processing.AnomalyTypo && i < len(in.Readings); i++ {
				if in.Readings[i].Value < in.Readings[i-1].Value {
					t.Fatalf("%s %s: register falls at %s", id, kind, in.Readings[i].Time)
				}
			}
		}
	}
}

// TestDenseReduced runs two real series with a few injections. It skips
// only outside CI when the data is absent.
func TestDenseReduced(t *testing.T) {
	denseDir := densetest.NeedReal(t)
	index, err := dense.ReadIndex(denseDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range index {
		if e.ID != "cam_elec_b21" && e.ID != "daiad_water_5b9161a3" {
			continue
		}
		d, err := dense.Load(denseDir, e)
		if err != nil {
			t.Fatal(err)
		}
		s := newSeries(d)
		res, err := evaluate(s, config{Seed: 1, N: 5})
		if err != nil {
			t.Fatal(err)
		}
		c := res.counts[0][0] // daily readings, profile method
		t.Logf("%s: %d clean alerts in %.1f years, found %v of %v", e.ID, c.Alerts, res.years[0], c.Found, c.Injected)
		if fa := float64(c.Alerts) / res.years[0]; fa > 2 {
			t.Errorf("%s: %.2f false alarms per year, want ≤ 2", e.ID, fa)
		}
		for _, k := range []string{processing.AnomalySpike, processing.AnomalyStuck, processing.AnomalyLeak} {
			if n := c.Injected[k]; n > 0 && float64(c.Found[k]) < 0.8*float64(n) {
				t.Errorf("%s: %s found %d of %d, want ≥ 80 %%", e.ID, k, c.Found[k], n)
			}
		}
	}
}
