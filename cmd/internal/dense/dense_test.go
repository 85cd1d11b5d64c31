package dense

import (
	"context"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meteragent/meteragent/cmd/internal/dense/densetest"
)

const dailyHeader = "date,consumption,cumulative_value,n_obs,n_zero_obs,valid\n"

// tiny is a two-series set: a Cambridge gas series (daily file only) and a
// water series with its hourly register, which repeats a local time.
func tiny() map[string]string {
	return map[string]string{
		"index.csv": "series_id,utility,unit\n" +
			"cam_gas_b1,gas (heating),kWh\n" +
			"daiad_water_x,water,litre\n",
		"cam_gas_b1.csv": dailyHeader +
			"2020-03-28,10,10,24,0,1\n" +
			"2020-03-29,12.5,22.5,23,0,0\n" +
			"2020-03-30,7,29.5,24,0,1\n",
		"daiad_water_x.csv": dailyHeader +
			"2020-10-24,100,5100,24,,1\n" +
			"2020-10-25,50,5150,25,,1\n",
		"hourly/daiad_water_x_readings.csv": "timestamp_local,register_litre\n" +
			"2020-10-24 00:00:00,5000\n" +
			"2020-10-25 02:30:00,5100\n" +
			"2020-10-25 02:30:00,5101\n" +
			"2020-10-26 00:00:00,5150\n",
	}
}

func withFiles(base map[string]string, change map[string]string) map[string]string {
	out := make(map[string]string, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range change {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func TestLoadAll(t *testing.T) {
	dir := densetest.Write(t, tiny())
	all, err := LoadAll(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d series, want 2", len(all))
	}
	gas, water := all[0], all[1]

	if gas.ID != "cam_gas_b1" || gas.Utility != "gas" || gas.Loc.String() != "Europe/London" {
		t.Errorf("gas series %s, utility %q, zone %s; want cam_gas_b1, gas, Europe/London", gas.ID, gas.Utility, gas.Loc)
	}
	if gas.Hourly != nil {
		t.Errorf("gas series has %d hourly readings, want none", len(gas.Hourly))
	}
	wantDays := []Day{
		{time.Date(2020, 3, 28, 0, 0, 0, 0, gas.Loc), 10, 10, true},
		{time.Date(2020, 3, 29, 0, 0, 0, 0, gas.Loc), 12.5, 22.5, false},
		{time.Date(2020, 3, 30, 0, 0, 0, 0, gas.Loc), 7, 29.5, true},
	}
	if len(gas.Days) != len(wantDays) {
		t.Fatalf("%d gas days, want %d", len(gas.Days), len(wantDays))
	}
	for i, d := range gas.Days {
		w := wantDays[i]
		if !d.Date.Equal(w.Date) || d.Consumption != w.Consumption || d.Cumulative != w.Cumulative || d.Valid != w.Valid {
			t.Errorf("gas day %d = %+v, want %+v", i, d, w)
		}
	}

	if water.Utility != "water" || water.Loc.String() != "Europe/Madrid" || len(water.Days) != 2 {
		t.Errorf("water series utility %q, zone %s, %d days; want water, Europe/Madrid, 2", water.Utility, water.Loc, len(water.Days))
	}
	// The repeated 02:30 (the clocks go back that night) is dropped.
	want := []float64{5000, 5100, 5150}
	if len(water.Hourly) != len(want) {
		t.Fatalf("water hourly %v, want values %v", water.Hourly, want)
	}
	for i, r := range water.Hourly {
		if r.Value != want[i] || r.Time.Location() != water.Loc {
			t.Errorf("reading %d = %v at %v, want %v in Europe/Madrid", i, r.Value, r.Time, want[i])
		}
	}

	only, err := LoadAll(dir, "water")
	if err != nil || len(only) != 1 || only[0].ID != "daiad_water_x" {
		t.Errorf("LoadAll(-series water) = %v, %v; want daiad_water_x alone", only, err)
	}
}

func TestLocation(t *testing.T) {
	for id, want := range map[string]string{
		"cam_elec_b0": "Europe/London", "cam_gas_b25": "Europe/London", "daiad_water_58e154b1": "Europe/Madrid",
	} {
		loc, err := Location(id)
		if err != nil {
			t.Skipf("zone data unavailable: %v", err)
		}
		if loc.String() != want {
			t.Errorf("Location(%s) = %s, want %s", id, loc, want)
		}
	}
}

func TestAddFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var dir, filter string
	AddFlags(fs, &dir, &filter)
	if err := fs.Parse(nil); err != nil || dir != DefaultDir || filter != "" {
		t.Errorf("defaults %q, %q (%v); want %q, empty", dir, filter, err, DefaultDir)
	}
	if err := fs.Parse([]string{"-data", "d", "-series", "elec"}); err != nil || dir != "d" || filter != "elec" {
		t.Errorf("parsed %q, %q (%v); want d, elec", dir, filter, err)
	}
}

// TestBadInput checks that every fault fails LoadAll with an error that
// names the file and, for a fault in a record, its line.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change map[string]string // file → new content, "" to remove it
		want   []string          // in the error
	}{
		{"no index", map[string]string{"index.csv": ""}, []string{"index.csv", "no such file"}},
		{"empty index", map[string]string{"index.csv": "series_id,utility\n"}, []string{"no series in", "match"}},
		{"empty series_id", map[string]string{"index.csv": "series_id,utility\ncam_gas_b1,gas\n,water\n"},
			[]string{"index.csv line 3", "empty series_id"}},
		{"missing daily file", map[string]string{"cam_gas_b1.csv": ""}, []string{"cam_gas_b1.csv", "no such file"}},
		{"no header", map[string]string{"cam_gas_b1.csv": "\n"}, []string{"cam_gas_b1.csv: header"}},
		{"wrong field count", map[string]string{"cam_gas_b1.csv": dailyHeader +
			"2020-03-28,10,10,24,0,1\n2020-03-29,12,5,22.5,23,0,0\n"}, []string{"cam_gas_b1.csv", "line 3", "wrong number of fields"}},
		{"bad number", map[string]string{"cam_gas_b1.csv": dailyHeader +
			"2020-03-28,10,10,24,0,1\n2020-03-29,12x5,22.5,23,0,0\n"}, []string{"cam_gas_b1.csv line 3", `consumption "12x5"`}},
		{"NaN register", map[string]string{"cam_gas_b1.csv": dailyHeader +
			"2020-03-28,10,NaN,24,0,1\n2020-03-29,12,22,23,0,0\n"}, []string{"cam_gas_b1.csv line 2", `cumulative_value "NaN"`}},
		{"bad date", map[string]string{"cam_gas_b1.csv": dailyHeader +
			"2020-03-28,10,10,24,0,1\n29/03/2020,12,22,23,0,0\n"}, []string{"cam_gas_b1.csv line 3", "date"}},
		{"gap", map[string]string{"cam_gas_b1.csv": dailyHeader +
			"2020-03-28,10,10,24,0,1\n2020-03-30,12,22,23,0,0\n"}, []string{"cam_gas_b1.csv line 3", "2020-03-30 does not follow 2020-03-28"}},
		{"one day", map[string]string{"cam_gas_b1.csv": dailyHeader + "2020-03-28,10,10,24,0,1\n"},
			[]string{"cam_gas_b1.csv", "fewer than two days"}},
		{"bad hourly register", map[string]string{"hourly/daiad_water_x_readings.csv": "timestamp_local,register_litre\n" +
			"2020-10-24 00:00:00,5000\n2020-10-24 01:00:00,\n"}, []string{"daiad_water_x_readings.csv line 3", `register_litre ""`}},
		{"bad hourly time", map[string]string{"hourly/daiad_water_x_readings.csv": "timestamp_local,register_litre\n" +
			"2020-10-24T00:00:00,5000\n"}, []string{"daiad_water_x_readings.csv line 2", "timestamp_local"}},
		{"one reading", map[string]string{"hourly/daiad_water_x_readings.csv": "timestamp_local,register_litre\n" +
			"2020-10-24 00:00:00,5000\n2020-10-24 00:00:00,5000\n"}, []string{"daiad_water_x_readings.csv", "fewer than two readings"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := densetest.Write(t, withFiles(tiny(), tc.change))
			_, err := LoadAll(dir, "")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestMissingDir(t *testing.T) {
	absent := filepath.Join(t.TempDir(), "absent")
	notDir := filepath.Join(densetest.Write(t, tiny()), "index.csv")
	for _, dir := range []string{absent, notDir} {
		_, err := LoadAll(dir, "")
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not found") {
			t.Errorf("LoadAll(%s) error %v, want one naming the directory as not found", dir, err)
		}
	}
}

// Each runs every index once, on any number of workers, and once the context
// is done starts no more.
func TestEach(t *testing.T) {
	for _, jobs := range []int{0, 1, 3, 20} {
		var mu sync.Mutex
		seen := make([]int, 10)
		if err := Each(t.Context(), len(seen), jobs, func(i int) {
			mu.Lock()
			seen[i]++
			mu.Unlock()
		}); err != nil {
			t.Fatalf("jobs %d: Each = %v", jobs, err)
		}
		for i, n := range seen {
			if n != 1 {
				t.Errorf("jobs %d: index %d ran %d times, want once", jobs, i, n)
			}
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	ran := 0
	err := Each(ctx, 100, 1, func(i int) {
		ran++
		if i == 4 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Each after cancel = %v, want context.Canceled", err)
	}
	if ran > 6 {
		t.Errorf("%d calls after cancelling at the fifth, want at most one more started", ran)
	}
}
