package config_test

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/meteragent/meteragent/config"
)

const fixtures = "../testdata/config"

// sharedSeed is the seed config in shared/, beside the repository (CI lays it
// out the same way).
var sharedSeed = filepath.Join("..", "..", "shared", "data", "seed-config")

func mustLoad(t *testing.T, dir string) *config.Config {
	t.Helper()
	c, err := config.Load(dir)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	return c
}

// writeDir writes files (name -> content) into a new temp dir.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func notices(c *config.Config) []string {
	var out []string
	for _, n := range c.Notices {
		out = append(out, n.String())
	}
	return out
}

func TestLoadSeed(t *testing.T) {
	dirs := map[string]string{"testdata": filepath.Join(fixtures, "seed"), "shared": sharedSeed}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(dir); name == "shared" && errors.Is(err, fs.ErrNotExist) {
				t.Skipf("%s not present (shared/ is not beside the repository)", dir)
			}
			checkSeed(t, mustLoad(t, dir))
		})
	}
}

// checkSeed compares against the seed files and the spec (§3, §4, §9.6-§9.8).
func checkSeed(t *testing.T, c *config.Config) {
	t.Helper()
	counts := map[string]int{}
	for _, m := range c.Meters {
		counts[m.Type]++
	}
	if len(c.Meters) != 26 || counts[config.TypePhysical] != 22 || counts[config.TypeMaster] != 2 || counts[config.TypeVirtual] != 2 {
		t.Errorf("meters = %d %v, want 26: 22 physical, 2 master, 2 virtual", len(c.Meters), counts)
	}
	if len(c.Patterns) != 16 {
		t.Errorf("patterns = %d, want 16", len(c.Patterns))
	}
	// Masters and virtuals come first in the file.
	wantOrder := []string{"strom_total", "gas_total", "eg_kalfire", "strom_allgemein", "haupt_strom"}
	for i, id := range wantOrder {
		if c.Meters[i].ID != id {
			t.Errorf("Meters[%d].ID = %q, want %q (file order)", i, c.Meters[i].ID, id)
		}
	}

	// Physical meters as listed in spec §9.7: id, unit, installed, deinstalled.
	physical := []struct{ id, unit, in, out string }{
		{"haupt_strom", "kWh", "2024-11-27", ""},
		{"strom_1LOG0007013695_NT", "kWh", "2020-01-01", "2024-11-26"},
		{"strom_1LOG0007013695_HT", "kWh", "2020-01-01", "2024-11-26"},
		{"eg_strom", "kWh", "2022-01-01", ""},
		{"og1_strom", "kWh", "2022-01-01", ""},
		{"og2_strom", "kWh", "2022-01-01", ""},
		{"gas_zahler", "m³", "2024-11-12", ""},
		{"gas_zahler_alt", "m³", "2020-06-01", "2024-11-12"},
		{"gastherme_gesamt", "kWh", "2022-01-01", ""},
		{"gastherme_heizen", "kWh", "2022-01-01", ""},
		{"gastherme_warmwasser", "kWh", "2022-01-01", ""},
		{"haupt_wasser", "m³", "2022-01-01", ""},
		{"og1_wasser_kalt", "m³", "2022-05-01", ""},
		{"og1_wasser_warm", "m³", "2022-04-01", ""},
		{"og2_wasser_kalt", "m³", "2022-09-01", ""},
		{"og2_wasser_warm", "m³", "2022-09-01", ""},
		{"eg_nord_heat", "MWh", "2022-01-01", ""},
		{"og1_heat", "MWh", "2022-01-05", ""},
		{"og2_heat", "MWh", "2022-01-09", ""},
		{"eg_sud_heat", "MWh", "2022-01-01", ""},
		{"buro_heat", "MWh", "2022-01-05", ""},
		{"solarspeicher", "kWh", "2022-01-01", ""},
	}
	byID := map[string]config.Meter{}
	for _, m := range c.Meters {
		byID[m.ID] = m
	}
	for _, w := range physical {
		m, ok := byID[w.id]
		if !ok {
			t.Errorf("meter %s missing", w.id)
			continue
		}
		if m.Type != config.TypePhysical || m.OutputUnit != w.unit || m.InstallationDate.String() != w.in || m.DeinstallationDate.String() != w.out {
			t.Errorf("meter %s = %s %s %s–%s, want physical %s %s–%s", w.id, m.Type, m.OutputUnit,
				m.InstallationDate, m.DeinstallationDate, w.unit, w.in, w.out)
		}
	}
	if m := byID["haupt_strom"]; m.Line != 71 || m.Description != "Main electricity meter (new installation)" {
		t.Errorf("haupt_strom line %d description %q, want line 71 and the file's description", m.Line, m.Description)
	}

	// Masters, spec §3 "Shipped masters".
	st := byID["strom_total"]
	if st.Type != config.TypeMaster || st.OutputUnit != "kWh" || len(st.Periods) != 2 {
		t.Fatalf("strom_total = %+v", st)
	}
	p0, p1 := st.Periods[0], st.Periods[1]
	if p0.StartDate.String() != "2020-01-01" || p0.EndDate.String() != "2024-11-26" || p0.CompositionType != "sum" ||
		!slices.Equal(p0.SourceMeters, []string{"strom_1LOG0007013695_NT", "strom_1LOG0007013695_HT"}) ||
		p0.SourceUnit != "kWh" || p0.ApplyOffset || p0.Line != 11 {
		t.Errorf("strom_total period 0 = %+v", p0)
	}
	if p1.StartDate.String() != "2024-11-27" || !p1.EndDate.Open() || p1.CompositionType != "single" ||
		!slices.Equal(p1.SourceMeters, []string{"haupt_strom"}) || !p1.ApplyOffset || p1.Line != 18 {
		t.Errorf("strom_total period 1 = %+v", p1)
	}
	gt := byID["gas_total"]
	if gt.OutputUnit != "m³" || len(gt.Periods) != 2 || gt.Periods[0].SourceMeters[0] != "gas_zahler_alt" ||
		gt.Periods[1].StartDate.String() != "2024-11-13" || !gt.Periods[1].ApplyOffset || gt.Periods[1].SourceUnit != "m³" {
		t.Errorf("gas_total = %+v", gt)
	}

	// Virtuals, spec §4 "Shipped".
	k := byID["eg_kalfire"]
	if k.BaseMeter != "gas_total" || !slices.Equal(k.SubtractMeters, []string{"gastherme_gesamt"}) ||
		k.SubtractMeterConversions["gastherme_gesamt"] != (config.Conversion{FromUnit: "kWh", ToUnit: "m³"}) ||
		k.CalculationType != "subtraction" || k.OutputUnit != "m³" {
		t.Errorf("eg_kalfire = %+v", k)
	}
	a := byID["strom_allgemein"]
	if a.BaseMeter != "strom_total" || !slices.Equal(a.SubtractMeters, []string{"eg_strom", "og1_strom", "og2_strom"}) ||
		len(a.SubtractMeterConversions) != 0 {
		t.Errorf("strom_allgemein = %+v", a)
	}

	// config.yaml, spec §9.6.
	if c.InfluxDB != (config.InfluxDB{URL: "http://192.168.1.75:8086", BucketRaw: "lampfi", BucketProcessed: "lampfi_processed", Timeout: 30 * time.Second, RetryAttempts: 3}) {
		t.Errorf("InfluxDB = %+v", c.InfluxDB)
	}
	if c.Tibber != (config.Tibber{PollingInterval: time.Hour, LookbackHours: 48, MaxLookbackHours: 720, MeterID: "haupt_strom"}) {
		t.Errorf("Tibber = %+v", c.Tibber)
	}
	// §3: F = 11.504 × 0.8885 = 10.221304 kWh/m³.
	if got := c.Gas.KWhPerM3(); math.Abs(got-10.221304) > 1e-9 {
		t.Errorf("KWhPerM3 = %v, want 10.221304", got)
	}
	if c.Workflows.Analytics != (config.Analytics{Schedule: "0 2 * * *", StartYear: 2020}) || c.Workflows.TibberSync.Schedule != "5 * * * *" {
		t.Errorf("Workflows = %+v", c.Workflows)
	}
	if c.Processing.FirstDay.String() != "2020-01-01" {
		t.Errorf("FirstDay = %s, want 2020-01-01 from start_year 2020", c.Processing.FirstDay)
	}
	if c.Logging != (config.Logging{Level: "info", Format: "json"}) {
		t.Errorf("Logging = %+v", c.Logging)
	}

	// §9.8 pattern values, kept as written (the caller normalises).
	heat := [12]float64{17.1, 14, 12.5, 8.1, 2.5, 1.2, 0.7, 0.6, 5.2, 8.4, 13.2, 16.5}
	if p := c.Patterns["og2_heat"]; p.MonthlyPercentages != heat || p.Line != 63 {
		t.Errorf("og2_heat pattern = %+v, want %v at line 63", p, heat)
	}

	// Unused keys (§9.6 rows meteragent does not use), the four patterns
	// summing to 101 (§9.8) and the two master patterns (W-24).
	want := []string{
		"config.yaml:30: logging.file: accepted for compatibility, not used by meteragent (meteragent logs to standard output)",
		"config.yaml:31: logging.max_bytes: accepted for compatibility, not used by meteragent (meteragent logs to standard output)",
		"config.yaml:32: logging.backup_count: accepted for compatibility, not used by meteragent (meteragent logs to standard output)",
		"config.yaml:35: meters_config: accepted for compatibility, not used by meteragent (meters are read from meters.yaml beside config.yaml)",
		"config.yaml:36: seasonal_patterns_config: accepted for compatibility, not used by meteragent (patterns are read from seasonal_patterns.yaml beside config.yaml)",
		`seasonal_patterns.yaml:11: patterns.gas_total: "gas_total" is a master meter; patterns apply to physical meters only, so it is not used`,
		"seasonal_patterns.yaml:12: patterns.gas_total.monthly_percentages: sum to 101, not 100; shares are normalised to 100",
		"seasonal_patterns.yaml:16: patterns.gastherme_gesamt.monthly_percentages: sum to 101, not 100; shares are normalised to 100",
		"seasonal_patterns.yaml:20: patterns.gastherme_heizen.monthly_percentages: sum to 101, not 100; shares are normalised to 100",
		"seasonal_patterns.yaml:28: patterns.gas_zahler_alt.monthly_percentages: sum to 101, not 100; shares are normalised to 100",
		`seasonal_patterns.yaml:35: patterns.strom_total: "strom_total" is a master meter; patterns apply to physical meters only, so it is not used`,
	}
	if got := notices(c); !slices.Equal(got, want) {
		t.Errorf("Notices =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The fixture copy must stay the real seed, or the testdata subtest proves nothing.
func TestSeedFixtureMatchesShared(t *testing.T) {
	if _, err := os.Stat(sharedSeed); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not present", sharedSeed)
	}
	for _, name := range []string{config.ConfigFile, config.MetersFile, config.PatternsFile} {
		a, errA := os.ReadFile(filepath.Join(sharedSeed, name))
		b, errB := os.ReadFile(filepath.Join(fixtures, "seed", name))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("testdata/config/seed/%s differs from the shared seed (%v, %v)", name, errA, errB)
		}
	}
}

func BenchmarkLoadSeed(b *testing.B) {
	dir := filepath.Join(fixtures, "seed")
	for b.Loop() {
		if _, err := config.Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConfigMeter(t *testing.T) {
	c := mustLoad(t, filepath.Join(fixtures, "seed"))
	if m, ok := c.Meter("gas_zahler_alt"); !ok || m.Line != 116 {
		t.Errorf("Meter(gas_zahler_alt) = %+v, %v; want the meter at line 116", m, ok)
	}
	if _, ok := c.Meter("nope"); ok {
		t.Errorf("Meter(nope) found a meter")
	}
}

func TestLoadDefaults(t *testing.T) {
	c := mustLoad(t, filepath.Join(fixtures, "minimal"))
	if c.Dir != filepath.Join(fixtures, "minimal") {
		t.Errorf("Dir = %q", c.Dir)
	}
	if c.Timezone != "" || c.Location != time.Local {
		t.Errorf("Timezone %q Location %v, want \"\" and time.Local", c.Timezone, c.Location)
	}
	if c.Processing.FirstDay != config.NewDate(2020, time.January, 1) || c.Processing.MaxExtrapolationDays != 90 || c.Processing.MeasuredGap != 3*time.Hour {
		t.Errorf("Processing = %+v, want 2020-01-01, 90 days, 3h", c.Processing)
	}
	if c.InfluxDB != (config.InfluxDB{BucketRaw: "lampfi", BucketProcessed: "lampfi_processed", Timeout: 30 * time.Second, RetryAttempts: 3}) {
		t.Errorf("InfluxDB = %+v", c.InfluxDB)
	}
	if c.Tibber != (config.Tibber{PollingInterval: time.Hour, LookbackHours: 48, MaxLookbackHours: 720, MeterID: "haupt_strom"}) {
		t.Errorf("Tibber = %+v", c.Tibber)
	}
	if c.Gas != (config.Gas{EnergyContent: 11.504, ZFactor: 0.8885}) {
		t.Errorf("Gas = %+v", c.Gas)
	}
	if c.Logging != (config.Logging{Level: "info", Format: "text"}) {
		t.Errorf("Logging = %+v", c.Logging)
	}
	if c.Patterns == nil || len(c.Patterns) != 0 {
		t.Errorf("Patterns = %v, want empty (no seasonal_patterns.yaml)", c.Patterns)
	}
	if len(c.Notices) != 0 {
		t.Errorf("Notices = %v, want none", notices(c))
	}
	m := c.Meters[0]
	if len(c.Meters) != 1 || m.ID != "haupt_strom" || !m.DeinstallationDate.IsZero() || m.RegisterSize != 0 || m.Line != 2 {
		t.Errorf("Meters = %+v", c.Meters)
	}
}

func TestLoadFeatures(t *testing.T) {
	c := mustLoad(t, filepath.Join(fixtures, "features"))
	if c.Timezone != "Europe/Berlin" || c.Location.String() != "Europe/Berlin" {
		t.Errorf("Timezone %q Location %v", c.Timezone, c.Location)
	}
	if c.Processing != (config.Processing{FirstDay: config.NewDate(2023, time.March, 1), MaxExtrapolationDays: -1, MeasuredGap: 90 * time.Minute, AnomalyMethod: config.AnomalyConsensus}) {
		t.Errorf("Processing = %+v", c.Processing)
	}
	if c.InfluxDB.URL != "https://influx.local:8086" || c.InfluxDB.Timeout != 2*time.Minute || c.InfluxDB.BucketRaw != "lampfi" {
		t.Errorf("InfluxDB = %+v", c.InfluxDB)
	}
	if c.Tibber.PollingInterval != 15*time.Minute || c.Tibber.MeterID != "strom" || c.Tibber.LookbackHours != 48 {
		t.Errorf("Tibber = %+v", c.Tibber)
	}
	byID := map[string]config.Meter{}
	for _, m := range c.Meters {
		byID[m.ID] = m
	}
	if m := byID["strom_alt"]; m.OutputUnit != "kWh" || m.RegisterSize != 100000 || m.DeinstallationDate != config.NewDate(2023, time.June, 30) {
		t.Errorf("strom_alt = %+v, want unit kWh (from kwh), register 100000, removed 2023-06-30", m)
	}
	// Quoted installation date, unquoted open end (W-25).
	if m := byID["strom"]; m.InstallationDate != config.NewDate(2023, time.July, 1) || !m.DeinstallationDate.Open() {
		t.Errorf("strom = %+v", m)
	}
	if m := byID["gas"]; m.OutputUnit != "m³" {
		t.Errorf("gas unit = %q, want m³ (from m3)", m.OutputUnit)
	}
	total := byID["total"]
	if total.OutputUnit != "kWh" || len(total.Periods) != 2 {
		t.Fatalf("total = %+v", total)
	}
	if p := total.Periods[0]; p.CompositionType != "single" || p.SourceUnit != "kWh" || p.ApplyOffset {
		t.Errorf("total period 0 = %+v, want single, kWh, no offset", p)
	}
	if p := total.Periods[1]; !p.EndDate.Open() || !p.ApplyOffset {
		t.Errorf("total period 1 = %+v, want open end and apply_offset synonym honoured", p)
	}
	total2 := byID["total2"]
	if p := total2.Periods[1]; !p.EndDate.Open() || p.CompositionType != "sum" || p.SourceUnit != "kWh" || !p.ApplyOffset {
		t.Errorf("total2 period 1 = %+v, want no end_date = open, sum, kWh, offset from YAML 1.1 yes", p)
	}
	if m := byID["gas_rest"]; m.OutputUnit != "m³" || m.SubtractMeterConversions["therme"] != (config.Conversion{FromUnit: "Wh", ToUnit: "m³"}) {
		t.Errorf("gas_rest = %+v", m)
	}
	if m := byID["gas_rest2"]; m.OutputUnit != "m³" || m.CalculationType != "subtraction" || len(m.SubtractMeters) != 0 {
		t.Errorf("gas_rest2 = %+v, want the unit of its virtual base", m)
	}
	if p := c.Patterns["strom"]; p.Description != "electricity" || p.MonthlyPercentages[11] != 13 || p.Line != 2 {
		t.Errorf("strom pattern = %+v", p)
	}
	want := []string{
		"config.yaml:15: workflows.analytics.start_year: overridden by processing.first_day",
		"meters.yaml:39: meters[5].periods[1].start_date: the days after the previous period's end 2020-12-31 and before 2021-02-01 belong to no period",
		`seasonal_patterns.yaml:5: patterns.ghost: no meter "ghost" in meters.yaml; the pattern is not used`,
	}
	if got := notices(c); !slices.Equal(got, want) {
		t.Errorf("Notices =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		dir      string
		sentinel error
		want     []string
	}{
		{"config-keys", config.ErrUnknownKey, []string{
			`config.yaml:1: timezone: unknown time zone "Mars/Olympus" (want an IANA name like Europe/Berlin)`,
			`config.yaml:3: processing.first_day: invalid date "2024-02-30" (want YYYY-MM-DD)`,
			`config.yaml:4: processing.max_extrapolation_days: must be -1 (unlimited), 0 (none) or a number of days, got -2`,
			`config.yaml:5: processing.measured_gap: want a positive duration like "3h", got 3`,
			`config.yaml:6: processing.extrapolate: unknown key`,
			`config.yaml:8: influxdb.url: want an http(s) URL like http://localhost:8086, got "192.168.1.75:8086"`,
			`config.yaml:9: influxdb.timeout: want a positive number of seconds or a duration like "30s", got -5`,
			`config.yaml:10: influxdb.retry_attempts: want a whole number, got 1.5`,
			`config.yaml:12: tibber.lookback_hours: 800 is more than max_lookback_hours 720`,
			`config.yaml:13: tibber.meter_id: must not be empty`,
			`config.yaml:15: gas_conversion.energy_content: must be greater than 0, got 0`,
			`config.yaml:16: gas_conversion.z_factor: must be greater than 0, got -0.9`,
			`config.yaml:19: workflows.analytics.schedule: want a cron expression like "0 2 * * *", got "0 2 * *"`,
			`config.yaml:20: workflows.analytics.start_year: want a year like 2020, got 20`,
			`config.yaml:22: logging.level: want DEBUG, INFO, WARNING or ERROR, got "VERBOSE"`,
			`config.yaml:23: logging.format: want text or json, got "xml"`,
			`config.yaml:24: logging.fiel: unknown key (did you mean file?)`,
			`config.yaml:25: meter_config: unknown key (did you mean meters_config?)`,
			`config.yaml:26: influxdb: duplicate key (first at line 7)`,
		}},
		{"meters", config.ErrMissing, []string{
			`meters.yaml:6: meters[0].deinstallation_date: 2024-01-09 is before installation_date 2024-01-10`,
			`meters.yaml:7: meters[0].register_size: must not be negative, got -1`,
			`meters.yaml:8: meters[1].meter_id: missing`,
			`meters.yaml:11: meters[2].meter_id: duplicate meter_id "a" (first at line 2)`,
			`meters.yaml:12: meters[2].type: unknown meter type "physcial" (want physical, master or virtual)`,
			`meters.yaml:14: meters[3].installation_date: missing (required for physical meters)`,
			`meters.yaml:16: meters[3].output_unit: unsupported unit "°C" (want Wh, kWh, MWh, m³, m3 or L)`,
			`meters.yaml:17: meters[3].instalation_date: unknown key (did you mean installation_date?)`,
			`meters.yaml:18: meters[4].type: missing (want physical, master or virtual)`,
			`meters.yaml:20: meters[5].meter_id: meter id "d e" must not be empty or contain blanks, '/', '+' or '#'`,
			`meters.yaml:23: meters[5].installation_date: must be a real day, not the open end 9999-12-31`,
			`meters.yaml:28: meters[6].installation_date: invalid date "2024-1-5" (want YYYY-MM-DD)`,
			`meters.yaml:30: meters[7]: want a mapping of keys, got "just a string"`,
		}},
		{"masters", config.ErrCycle, []string{
			`meters.yaml:16: meters[3].periods[0].start_date: missing`,
			`meters.yaml:19: meters[3].periods[1].end_date: 2020-12-31 is before start_date 2021-01-01`,
			`meters.yaml:23: meters[3].periods[2].composition_type: unknown composition_type "average" (want single or sum)`,
			`meters.yaml:24: meters[3].periods[2].source_meters[1]: "p2" is in MWh, but the period's source_unit is kWh`,
			`meters.yaml:25: meters[3].periods[3].start_date: overlaps the previous period, which ends 2021-06-30`,
			`meters.yaml:27: meters[3].periods[3].source_meters[1]: "p1" is listed twice`,
			`meters.yaml:28: meters[3].periods[4].start_date: periods out of order: 2021-03-01 is before the previous period's start 2021-06-01`,
			`meters.yaml:31: meters[3].periods[4].source_meters: composition_type single takes one source meter, got 2 (use sum to add them)`,
			`meters.yaml:31: meters[3].periods[4].source_meters[1]: "v" is a virtual meter; master periods take physical or master meters`,
			`meters.yaml:33: meters[3].periods[5].source_meters[0]: unknown meter "nope"`,
			`meters.yaml:33: meters[3].periods[5].source_meters[1]: "p2" is in MWh, but the period's source_unit is kWh`,
			`meters.yaml:36: meters[3].periods[5].apply_offset: contradicts apply_offset_from_previous_period (give only one)`,
			`meters.yaml:41: meters[4].periods: no periods (a master meter needs at least one)`,
			`meters.yaml:42: meters[5].periods: missing (a master meter needs at least one period)`,
			`meters.yaml:44: meters[5].source_unit: unknown key`,
			`meters.yaml:54: meters[7].periods[0].source_meters[0]: meter dependency cycle: m4 -> m5 -> m4`,
		}},
		{"virtuals", config.ErrUnit, []string{
			`meters.yaml:16: meters[3].calculation_type: unknown calculation_type "addition" (want subtraction)`,
			`meters.yaml:17: meters[3].base_meter: unknown meter "ghost"`,
			`meters.yaml:18: meters[3].subtract_meters[1]: "therme" is listed twice`,
			`meters.yaml:21: meters[4].output_unit: kWh, but base meter "gas" is in m³ (a virtual meter keeps its base meter's unit)`,
			`meters.yaml:23: meters[4].subtract_meters[2]: "gas" is the base meter`,
			`meters.yaml:23: meters[4].subtract_meters[1]: "strom" is in kWh, but base meter "gas" is in m³ (add it to subtract_meter_conversions)`,
			`meters.yaml:27: meters[4].subtract_meter_conversions.therme.to_unit: unsupported unit "°C" (want Wh, kWh, MWh, m³, m3 or L)`,
			`meters.yaml:28: meters[4].subtract_meter_conversions.wasser: conversion for "wasser", which is not in subtract_meters`,
			`meters.yaml:37: meters[6].base_meter: meter dependency cycle: v3 -> v4 -> v3`,
			`meters.yaml:38: meters[7].base_meter: missing (a virtual meter subtracts from a base meter)`,
			`meters.yaml:40: meters[7].subtract_meters: want a list, got "strom"`,
			`meters.yaml:45: meters[8].subtract_meter_conversions.therme.to_unit: missing`,
			`meters.yaml:45: meters[8].subtract_meter_conversions.therme: conversion for "therme", which is not in subtract_meters`,
		}},
		{"patterns", config.ErrDuplicate, []string{
			`seasonal_patterns.yaml:3: patterns.a.monthly_percentages: want 12 numbers (January to December), got 11`,
			`seasonal_patterns.yaml:5: patterns.b.monthly_percentages: the twelve numbers sum to 0; want a positive sum, normally 100`,
			`seasonal_patterns.yaml:7: patterns.c.monthly_percentages[11]: must not be negative, got -10`,
			`seasonal_patterns.yaml:9: patterns.d.monthly_percentages[11]: want a number, got "x"`,
			`seasonal_patterns.yaml:10: patterns.e.monthly_percentages: missing`,
			`seasonal_patterns.yaml:13: patterns.f.monthly_percentages: want a list of 12 numbers (January to December), got 100`,
			`seasonal_patterns.yaml:16: patterns.g.descripton: unknown key (did you mean description?)`,
			`seasonal_patterns.yaml:17: patterns.a: duplicate key (first at line 2)`,
		}},
		{"syntax", config.ErrSyntax, []string{
			`config.yaml:1: want a mapping of keys, got a list`,
			// yaml.v3 reports the line where the enclosing block started.
			`meters.yaml:1: did not find expected '-' indicator`,
			`seasonal_patterns.yaml:2: a second YAML document; the file must hold one`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			c, err := config.Load(filepath.Join(fixtures, "invalid", tt.dir))
			if err == nil {
				t.Fatalf("Load = %+v, want errors", c)
			}
			if c != nil {
				t.Errorf("Load returned a config with an error")
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Load error =\n%s\nwant\n%s", got, want)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(err, %v) = false", tt.sentinel)
			}
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *config.FieldError
				if !errors.As(e, &fe) || fe.File == "" {
					t.Errorf("%v: not a *FieldError with a file", e)
				}
			}
		})
	}
}

func TestLoadMissingFiles(t *testing.T) {
	tests := []struct{ dir, file string }{
		{"no-config", "config.yaml"},
		{"no-meters", "meters.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join(fixtures, "invalid", tt.dir)
			_, err := config.Load(dir)
			if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, tt.file)) {
				t.Errorf("Load(%s) = %v, want a not-exist error naming %s", dir, err, filepath.Join(dir, tt.file))
			}
		})
	}
}

const onePhysical = "meters:\n  - meter_id: p\n    type: physical\n    output_unit: kWh\n    installation_date: 2020-01-01\n"

// Both spellings of the open end load the same (W-25: unquoted crashed the old pipeline).
func TestOpenEndForms(t *testing.T) {
	for _, form := range []string{`9999-12-31`, `"9999-12-31"`, `'9999-12-31'`, `9999-01-01`} {
		t.Run(form, func(t *testing.T) {
			meters := onePhysical + "    deinstallation_date: " + form + "\n" +
				"  - meter_id: m\n    type: master\n    periods:\n      - start_date: 2020-01-01\n        end_date: " + form + "\n        source_meters: [p]\n"
			c := mustLoad(t, writeDir(t, map[string]string{"config.yaml": "", "meters.yaml": meters}))
			if d := c.Meters[0].DeinstallationDate; !d.Open() || d.String() != "9999-12-31" {
				t.Errorf("deinstallation_date %s = %v, want the open end", form, d)
			}
			if d := c.Meters[1].Periods[0].EndDate; !d.Open() {
				t.Errorf("end_date %s = %v, want the open end", form, d)
			}
		})
	}
}

func TestApplyOffsetSynonym(t *testing.T) {
	tests := []struct {
		keys string
		want bool
	}{
		{"", false},
		{"        apply_offset: true\n", true},
		{"        apply_offset_from_previous_period: true\n", true},
		{"        apply_offset: false\n", false},
		{"        apply_offset: true\n        apply_offset_from_previous_period: true\n", true},
	}
	for _, tt := range tests {
		meters := onePhysical + "  - meter_id: m\n    type: master\n    periods:\n      - start_date: 2020-01-01\n        source_meters: [p]\n" + tt.keys
		c := mustLoad(t, writeDir(t, map[string]string{"config.yaml": "", "meters.yaml": meters}))
		if got := c.Meters[1].Periods[0].ApplyOffset; got != tt.want {
			t.Errorf("%q: ApplyOffset = %v, want %v", tt.keys, got, tt.want)
		}
	}
}

// Inline cases that each need only a line or two of YAML.
func TestLoadInline(t *testing.T) {
	tests := []struct {
		name, config, meters string
		want                 string // "" = loads
	}{
		{"quoted yes is not a bool", "", onePhysical + "  - meter_id: m\n    type: master\n    periods:\n      - start_date: 2020-01-01\n        source_meters: [p]\n        apply_offset: \"yes\"\n",
			`meters.yaml:11: meters[1].periods[0].apply_offset: want true or false, got "yes"`},
		{"self reference", "", "meters:\n  - meter_id: m\n    type: master\n    periods:\n      - start_date: 2020-01-01\n        source_meters: [m]\n",
			`meters.yaml:6: meters[0].periods[0].source_meters[0]: meter dependency cycle: m -> m`},
		{"empty meters file", "", "", `meters.yaml: meters: no meters defined`},
		{"empty meter list", "", "meters: []\n", `meters.yaml:1: meters: no meters defined`},
		{"typo suggestion", "timezon: Europe/Berlin\n", onePhysical, `config.yaml:1: timezon: unknown key (did you mean timezone?)`},
		{"aliases", "", strings.Replace(onePhysical, "meter_id: p", "meter_id: &id p", 1) + "  - meter_id: m\n    type: master\n    periods:\n      - start_date: 2020-01-01\n        source_meters: [*id]\n", ""},
		{"timezone UTC", "timezone: UTC\n", onePhysical, ""},
		{"seconds as float", "influxdb:\n  timeout: 2.5\n", onePhysical, ""},
		{"NaN is not a number", "gas_conversion:\n  z_factor: .nan\n", onePhysical, `config.yaml:2: gas_conversion.z_factor: want a number, got .nan`},
		{"descriptor schedule", "workflows:\n  tibber_sync:\n    schedule: \"@every 1h\"\n", onePhysical, ""},
		{"zero register size", "", onePhysical + "    register_size: 0\n", ""},
		{"unknown meters top key", "", onePhysical + "meter:\n  - x\n", `meters.yaml:6: meter: unknown key (did you mean meters?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(writeDir(t, map[string]string{"config.yaml": tt.config, "meters.yaml": tt.meters}))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Load error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"2024-11-27", "2024-11-27", false},
		{"2024-02-29", "2024-02-29", false},
		{"9999-12-31", "9999-12-31", false},
		{"9999-06-30", "9999-12-31", false}, // any 9999 date is the open end, as in the old pipeline
		{"2023-02-29", "", true},
		{"2024-1-5", "", true},
		{"2024-11-27T00:00:00Z", "", true},
		{"2024-11-27 ", "", true},
		{"0000-01-01", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		d, err := config.ParseDate(tt.in)
		if (err != nil) != tt.wantErr || d.String() != tt.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %q, error %v", tt.in, d, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, config.ErrInvalid) {
			t.Errorf("ParseDate(%q) error %v does not wrap ErrInvalid", tt.in, err)
		}
	}
}

func TestDate(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// The days after the spring and autumn DST changes start at +01:00 and +02:00 respectively.
	if got := config.NewDate(2024, time.March, 31).In(berlin).Format(time.RFC3339); got != "2024-03-31T00:00:00+01:00" {
		t.Errorf("2024-03-31 in Berlin = %s", got)
	}
	if got := config.NewDate(2024, time.October, 27).In(berlin).Format(time.RFC3339); got != "2024-10-27T00:00:00+02:00" {
		t.Errorf("2024-10-27 in Berlin = %s", got)
	}
	if got := config.NewDate(2024, time.January, 2).In(nil); !got.Equal(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("In(nil) = %v, want UTC midnight", got)
	}
	var zero config.Date
	if !zero.IsZero() || zero.Open() || !zero.In(berlin).IsZero() || zero.String() != "" {
		t.Errorf("zero Date: IsZero %v Open %v In %v String %q", zero.IsZero(), zero.Open(), zero.In(berlin), zero.String())
	}
	if d := config.NewDate(2024, time.February, 30); d.String() != "2024-03-01" || d.Year() != 2024 || d.Month() != time.March || d.Day() != 1 {
		t.Errorf("NewDate(2024-02-30) = %v, want normalised 2024-03-01", d)
	}
	a, b := config.NewDate(2024, 1, 31), config.NewDate(2024, 2, 1)
	if !a.Before(b) || !b.After(a) || a.Compare(a) != 0 || b.Compare(a) != 1 || !zero.Before(a) {
		t.Errorf("ordering of %v and %v is wrong", a, b)
	}
	var back config.Date
	text, _ := a.MarshalText()
	if err := back.UnmarshalText(text); err != nil || back != a {
		t.Errorf("text round trip of %v = %v, %v", a, back, err)
	}
	if err := back.UnmarshalText([]byte("31.01.2024")); err == nil {
		t.Errorf("UnmarshalText(31.01.2024) accepted")
	}
}

func TestFieldErrorFormat(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		e    config.FieldError
		want string
	}{
		{config.FieldError{File: "meters.yaml", Line: 12, Path: "meters[3].installation_date", Err: base}, "meters.yaml:12: meters[3].installation_date: boom"},
		{config.FieldError{File: "meters.yaml", Path: "meters", Err: base}, "meters.yaml: meters: boom"},
		{config.FieldError{File: "config.yaml", Line: 1, Err: base}, "config.yaml:1: boom"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want || !errors.Is(&tt.e, base) {
			t.Errorf("Error() = %q, want %q (and to unwrap)", got, tt.want)
		}
	}
}

// FuzzLoad feeds arbitrary meters.yaml and seasonal_patterns.yaml next to the
// seed's config.yaml. Load must not panic, every error must name its file,
// and a success must hold only meters that reference each other validly.
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"seed", "features", "minimal", "invalid/masters", "invalid/virtuals", "invalid/meters", "invalid/patterns", "invalid/syntax"} {
		m, _ := os.ReadFile(filepath.Join(fixtures, dir, "meters.yaml"))
		p, _ := os.ReadFile(filepath.Join(fixtures, dir, "seasonal_patterns.yaml"))
		f.Add(m, p)
	}
	f.Add([]byte("meters: &a [*a]\n"), []byte("patterns: {a: &x {monthly_percentages: [1,1,1,1,1,1,1,1,1,1,1,1]}, b: *x}\n"))
	f.Add([]byte("meters:\n- {meter_id: x, type: virtual, base_meter: x}\n"), []byte("\xff\xfe"))
	cfg, err := os.ReadFile(filepath.Join(fixtures, "seed", "config.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	files := []string{config.ConfigFile, config.MetersFile, config.PatternsFile}
	f.Fuzz(func(t *testing.T, meters, patterns []byte) {
		dir := writeDir(t, map[string]string{"config.yaml": string(cfg), "meters.yaml": string(meters), "seasonal_patterns.yaml": string(patterns)})
		c, err := config.Load(dir)
		if err != nil {
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *config.FieldError
				if !errors.As(e, &fe) || !slices.Contains(files, fe.File) || !strings.HasPrefix(e.Error(), fe.File+":") {
					t.Fatalf("error without a file name: %v", e)
				}
			}
			return
		}
		ids := map[string]string{}
		for _, m := range c.Meters {
			if m.ID == "" || ids[m.ID] != "" {
				t.Fatalf("loaded meter with empty or duplicate id %q", m.ID)
			}
			ids[m.ID] = m.Type
		}
		for _, m := range c.Meters {
			if m.OutputUnit == "" {
				t.Fatalf("meter %s loaded without a unit", m.ID)
			}
			switch m.Type {
			case config.TypePhysical:
				if m.InstallationDate.IsZero() || m.InstallationDate.Open() {
					t.Fatalf("physical meter %s without a real installation date", m.ID)
				}
			case config.TypeMaster:
				if len(m.Periods) == 0 {
					t.Fatalf("master %s without periods", m.ID)
				}
				for i, p := range m.Periods {
					if p.SourceUnit == "" || len(p.SourceMeters) == 0 || p.EndDate.Before(p.StartDate) ||
						i > 0 && !p.StartDate.After(m.Periods[i-1].EndDate) {
						t.Fatalf("master %s has an invalid period %+v", m.ID, p)
					}
					for _, s := range p.SourceMeters {
						if ids[s] != config.TypePhysical && ids[s] != config.TypeMaster {
							t.Fatalf("master %s has source %q of type %q", m.ID, s, ids[s])
						}
					}
				}
			case config.TypeVirtual:
				if ids[m.BaseMeter] == "" {
					t.Fatalf("virtual %s has unknown base %q", m.ID, m.BaseMeter)
				}
				for id := range m.SubtractMeterConversions {
					if !slices.Contains(m.SubtractMeters, id) {
						t.Fatalf("virtual %s converts %q, which it does not subtract", m.ID, id)
					}
				}
			default:
				t.Fatalf("meter %s has type %q", m.ID, m.Type)
			}
		}
	})
}

// TestAnomalyMethod: the old 2-of-3 consensus stays selectable; anything
// else is an error naming the line.
func TestAnomalyMethod(t *testing.T) {
	const meters = "meters:\n  - {meter_id: a, type: physical, output_unit: kWh, installation_date: 2024-01-01}\n"
	c := mustLoad(t, writeDir(t, map[string]string{"config.yaml": "", "meters.yaml": meters}))
	if c.Processing.AnomalyMethod != config.AnomalyProfile {
		t.Errorf("default anomaly_method %q, want %q", c.Processing.AnomalyMethod, config.AnomalyProfile)
	}
	_, err := config.Load(writeDir(t, map[string]string{"config.yaml": "processing:\n  anomaly_method: zscore\n", "meters.yaml": meters}))
	want := `config.yaml:2: processing.anomaly_method: want profile or consensus, got "zscore"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load = %v, want %q", err, want)
	}
}
