package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/agent/testbroker"
	"github.com/meteragent/meteragent/processing"
)

// temperatureSection is the config.yaml addition of the temperature tests.
const temperatureSection = `
outdoor_temperature:
  base_temperature: 17
  mqtt:
    topic: weather/outdoor/temperature
    format: number
`

// readingsWithTemperature writes the agent test house's readings followed by
// an outdoor temperature row every 6 hours over their span (winter into
// spring, below and above freezing) and returns the file and the line of
// the first temperature row.
func readingsWithTemperature(t *testing.T) (file string, firstTempLine int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(agentTestdata, "readings.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	sb.Write(b)
	if !strings.HasSuffix(sb.String(), "\n") {
		sb.WriteByte('\n')
	}
	firstTempLine = strings.Count(sb.String(), "\n") + 1
	start := time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)
	for i := range 4 * 125 {
		at := start.Add(time.Duration(i) * 6 * time.Hour)
		c := 2 + 10*float64(i)/500 + 5*math.Sin(float64(i)*0.7)
		fmt.Fprintf(&sb, "outdoor_temperature,%s,%.1f\n", at.Format(time.RFC3339), c)
	}
	file = filepath.Join(t.TempDir(), "readings.csv")
	if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, firstTempLine
}

// The process command takes temperature rows when the config names the
// series, keeps the series out of every output, and refuses the same rows
// with the file's line and the id when the config has no such section.
func TestProcessTemperatureRows(t *testing.T) {
	ctx := t.Context()
	readings, line := readingsWithTemperature(t)

	out := t.TempDir()
	code, stdout, stderr := runCmd(t, ctx, "process", "--config", agentDir(t, temperatureSection), "--readings", readings, "--out", out, "--to", "2024-05-01")
	if code != 0 {
		t.Fatalf("process with the section: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, name := range []string{dailyFile, monthlyFile, anomaliesFile} {
		for _, row := range readCSV(t, filepath.Join(out, name)).rows {
			if row[0] == "outdoor_temperature" {
				t.Errorf("%s has a row of the temperature series: %v", name, row)
				break
			}
		}
	}
	if strings.Contains(stdout, "outdoor_temperature") {
		t.Errorf("the summary lists the temperature series like a meter:\n%s", stdout)
	}
	daily := readCSV(t, filepath.Join(out, dailyFile))
	meters := map[string]bool{}
	for _, row := range daily.rows {
		meters[row[0]] = true
	}
	for _, id := range []string{"strom", "wasser", "heizung", "strom_total", "rest"} {
		if !meters[id] {
			t.Errorf("daily.csv lacks meter %s", id)
		}
	}

	code, _, stderr = runCmd(t, ctx, "process", "--config", agentDir(t, ""), "--readings", readings, "--out", t.TempDir(), "--to", "2024-05-01")
	want := fmt.Sprintf("%s:%d: unknown meter %q: not a meter of the config", readings, line, "outdoor_temperature")
	if code != exitFailure || !strings.Contains(stderr, want) {
		t.Errorf("process without the section: exit %d, stderr %q; want %d and %q", code, stderr, exitFailure, want)
	}
}

// takeTemperatures moves the series, and only it, from the readings into
// the profiles, with the configured base, without touching the shared
// options it was given.
func TestTakeTemperatures(t *testing.T) {
	s, err := loadSetup(agentDir(t, temperatureSection))
	if err != nil {
		t.Fatal(err)
	}
	temps := []processing.Reading{{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Value: -4}}
	strom := []processing.Reading{{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Value: 1}}
	readings := map[string][]processing.Reading{"outdoor_temperature": temps, "strom": strom}
	opt := runOptions(s.cfg, s.loc)
	shared := opt.Profiles
	takeTemperatures(&opt, s.cfg, readings)
	if _, ok := readings["outdoor_temperature"]; ok || len(readings["strom"]) != 1 {
		t.Errorf("readings after = %v, want only strom's", readings)
	}
	if p := opt.Profiles; p == nil || len(p.Temperatures) != 1 || p.Temperatures[0].Value != -4 || p.BaseTemperature != 17 {
		t.Errorf("profiles = %+v, want the series and base 17", opt.Profiles)
	}
	if len(shared.Temperatures) != 0 {
		t.Error("takeTemperatures changed the profile options it was given")
	}

	// Without the section, a meter's readings stay where they are.
	s, err = loadSetup(agentDir(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	opt = runOptions(s.cfg, s.loc)
	readings = map[string][]processing.Reading{"strom": strom}
	takeTemperatures(&opt, s.cfg, readings)
	if len(readings) != 1 || len(opt.Profiles.Temperatures) != 0 || opt.Profiles.BaseTemperature != 0 {
		t.Errorf("without the section: readings %v, profiles %+v", readings, opt.Profiles)
	}
}

// The temperature's mqtt block becomes a subscription of its id at scale 1,
// beside the meters' own.
func TestTemperatureSubscription(t *testing.T) {
	s, err := loadSetup(agentDir(t, serviceConfig("tcp://127.0.0.1:1883", "")+temperatureSection))
	if err != nil {
		t.Fatal(err)
	}
	subs, err := subscriptions(s)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sub := range subs {
		if sub.Meter != "outdoor_temperature" {
			continue
		}
		n++
		if sub.Topic != "weather/outdoor/temperature" || sub.Format != "number" || sub.Scale != 1 {
			t.Errorf("temperature subscription = %+v", sub)
		}
	}
	if n != 1 || len(subs) != 4 {
		t.Errorf("subscriptions = %+v, want the three meters' and one of the temperature", subs)
	}
}

// import csv stores the temperature rows under the series' id, and neither
// status nor the exports of daily series show it as a meter.
func TestImportTemperatureRows(t *testing.T) {
	ctx := t.Context()
	dir := agentDir(t, temperatureSection)
	readings, _ := readingsWithTemperature(t)
	code, out, errOut := runCmd(t, ctx, "import", "csv", readings, "--config", dir)
	if code != 0 || !strings.Contains(out, "623 readings, 623 new") {
		t.Fatalf("import exit %d: %s%s, want 123 meter and 500 temperature readings", code, out, errOut)
	}
	code, out, _ = runCmd(t, ctx, "export", "--what", "readings", "--meter", "strom", "--config", dir)
	if code != 0 || strings.Count(out, "\n") != 42 {
		t.Errorf("export of strom's readings: exit %d, %d lines, want 41 readings and a header", code, strings.Count(out, "\n"))
	}
	for _, args := range [][]string{
		{"status", "--config", dir},
		{"export", "--what", "daily", "--config", dir},
		{"export", "--what", "monthly", "--config", dir},
	} {
		code, out, errOut := runCmd(t, ctx, args...)
		if code != 0 {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "outdoor_temperature") {
				t.Errorf("%v shows the temperature series as a meter: %q", args, l)
				break
			}
		}
	}
}

// temperatureRows returns the outdoor_temperature rows of a readings CSV as
// "instant value" strings, times in UTC, so that files written in different
// zones and number formats compare.
func temperatureRows(t *testing.T, csv string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(csv, "\n") {
		f := strings.Split(l, ",")
		if len(f) != 3 || f[0] != "outdoor_temperature" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, f[1])
		if err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		out = append(out, fmt.Sprintf("%s %g", at.UTC().Format(time.RFC3339), v))
	}
	return out
}

// export --what readings --meter <temperature id> writes the series' stored
// readings, so that they can be imported again, from the database file and
// through the running agent alike; its daily, monthly and anomaly exports
// are refused, naming the series, as the series has none.
func TestExportTemperatureReadings(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	listen := freeAddr(t)
	dir := agentDir(t, temperatureSection+"http:\n  listen: "+listen+"\n")
	readings, _ := readingsWithTemperature(t)
	in, err := os.ReadFile(readings)
	if err != nil {
		t.Fatal(err)
	}
	want := temperatureRows(t, string(in))
	if code, out, errOut := runCmd(t, ctx, "import", "csv", readings, "--config", dir); code != 0 {
		t.Fatalf("import exit %d: %s%s", code, out, errOut)
	}

	check := func(path string) {
		t.Helper()
		code, out, errOut := runCmd(t, ctx, "export", "--what", "readings", "--meter", "outdoor_temperature", "--config", dir)
		if code != 0 || !strings.HasPrefix(out, readingsHeader+"\n") {
			t.Fatalf("%s: export exit %d: %.200s%s", path, code, out, errOut)
		}
		if lines := strings.Count(out, "\n"); lines != len(want)+1 {
			t.Errorf("%s: export has %d lines, want %d temperature rows and the header", path, lines, len(want))
		}
		got := temperatureRows(t, out)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: exported rows differ from the imported ones:\n%.300v\nwant\n%.300v", path, got, want)
		}
		for _, what := range []string{"daily", "monthly", "anomalies"} {
			code, out, errOut := runCmd(t, ctx, "export", "--what", what, "--meter", "outdoor_temperature", "--config", dir)
			if code == 0 || out != "" || !strings.Contains(errOut, `"outdoor_temperature" is the outdoor temperature series, not a meter`) {
				t.Errorf("%s: export --what %s of the temperature: exit %d, stdout %q, stderr %q; want a refusal naming the series", path, what, code, out, errOut)
			}
		}
	}
	check("database file")

	done, stderr := startService(t, ctx, dir)
	base := "http://" + listen
	testbroker.Eventually(ctx, t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, "agent API not up; log:\n%s", stderr)
	// The agent holds the database lock: these answers come from its API.
	check("agent API")
	resp, err := http.Get(base + "/export?what=daily&meter=outdoor_temperature")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /export?what=daily&meter=outdoor_temperature: %s, want 400", resp.Status)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("agent exit %d; log:\n%s", code, stderr)
	}

	// Without the section the id is no series at all.
	plain := agentDir(t, "")
	code, _, errOut := runCmd(t, t.Context(), "export", "--what", "readings", "--meter", "outdoor_temperature", "--config", plain)
	if code == 0 || !strings.Contains(errOut, `unknown meter "outdoor_temperature"`) {
		t.Errorf("export of the temperature without the section: exit %d %q, want unknown meter", code, errOut)
	}
}

// status shows the outdoor temperature series on a line of its own below the
// meter table, never as a meter, from the database file and through the
// running agent alike.
func TestStatusTemperature(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	listen := freeAddr(t)
	dir := agentDir(t, temperatureSection+"http:\n  listen: "+listen+"\n")

	// statusLine returns the temperature line of `meteragent status` and
	// checks that it follows the rows of the house's five meters.
	statusLine := func(path string) string {
		t.Helper()
		code, out, errOut := runCmd(t, ctx, "status", "--config", dir)
		if code != 0 {
			t.Fatalf("%s: status exit %d: %s%s", path, code, out, errOut)
		}
		lines := strings.Split(out, "\n")
		if !strings.HasPrefix(lines[0], "meter ") {
			t.Fatalf("%s: status does not start with the meter table:\n%s", path, out)
		}
		for i, l := range lines[1:] {
			if strings.HasPrefix(l, "outdoor") {
				if i != 5 || !strings.HasPrefix(lines[i+2], "dead letters:") {
					t.Errorf("%s: temperature line is not right below the five meters' rows:\n%s", path, out)
				}
				return l
			}
		}
		t.Fatalf("%s: no temperature line:\n%s", path, out)
		return ""
	}

	if code, out, errOut := runCmd(t, ctx, "import", "csv", filepath.Join(agentTestdata, "readings.csv"), "--config", dir); code != 0 {
		t.Fatalf("import exit %d: %s%s", code, out, errOut)
	}
	if got, want := statusLine("database file"), "outdoor temperature (outdoor_temperature): no readings yet"; got != want {
		t.Errorf("before temperature readings: %q, want %q", got, want)
	}

	readings, _ := readingsWithTemperature(t)
	if code, out, errOut := runCmd(t, ctx, "import", "csv", readings, "--config", dir); code != 0 {
		t.Fatalf("import exit %d: %s%s", code, out, errOut)
	}
	in, err := os.ReadFile(readings)
	if err != nil {
		t.Fatal(err)
	}
	rows := temperatureRows(t, string(in))
	_, lastValue, _ := strings.Cut(rows[len(rows)-1], " ")
	// The generator's last row is 2023-12-31 00:00 UTC plus 499 × 6 h:
	// 2024-05-03 18:00 UTC, 20:00 summer time in Berlin.
	want := "outdoor temperature (outdoor_temperature): " + lastValue + " °C at 2024-05-03 20:00, 500 readings"
	if got := statusLine("database file"); got != want {
		t.Errorf("database file: %q, want %q", got, want)
	}

	done, stderr := startService(t, ctx, dir)
	var rep statusReport
	testbroker.Eventually(ctx, t, func() bool { return getJSON(t, "http://"+listen+"/status", &rep) }, "agent API not up; log:\n%s", stderr)
	if ts := rep.Temperature; ts == nil || ts.ID != "outdoor_temperature" || ts.Readings != 500 || ts.LastReading == nil ||
		!ts.LastReading.Time.Equal(time.Date(2024, 5, 3, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("/status outdoor_temperature = %+v, want 500 readings, the last at 2024-05-03 18:00 UTC", ts)
	}
	if len(rep.Meters) != 5 || meterOf(rep, "outdoor_temperature").ID != "" {
		t.Errorf("/status meters = %+v, want the five meters only", rep.Meters)
	}
	// The agent holds the database lock: this status comes from its API.
	if got := statusLine("agent API"); got != want {
		t.Errorf("agent API: %q, want %q", got, want)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("agent exit %d; log:\n%s", code, stderr)
	}

	// Without the section there is no such line.
	plain := agentDir(t, "")
	if code, out, errOut := runCmd(t, t.Context(), "import", "csv", filepath.Join(agentTestdata, "readings.csv"), "--config", plain); code != 0 {
		t.Fatalf("import exit %d: %s%s", code, out, errOut)
	}
	if code, out, _ := runCmd(t, t.Context(), "status", "--config", plain); code != 0 || strings.Contains(out, "outdoor") {
		t.Errorf("status without the section: exit %d\n%s", code, out)
	}
}
