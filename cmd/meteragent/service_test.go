package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/agent/testbroker"
	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

const agentTestdata = "../../testdata/agent"

// agentDir copies the small house of testdata/agent into a temp dir and
// appends extra to its config.yaml.
func agentDir(t testing.TB, extra string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config.yaml", "meters.yaml"} {
		b, err := os.ReadFile(filepath.Join(agentTestdata, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "config.yaml" {
			b = append(b, extra...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serviceConfig is the config.yaml addition of the live tests: the broker,
// wmbusmeters templates for water (m³) and heat (kWh), a free HTTP port and
// a short debounce.
func serviceConfig(broker, listen string) string {
	return fmt.Sprintf(`
mqtt:
  broker: %s
  client_id: meteragent-test
  subscriptions:
    - topic_template: "wmbusmeters/{meter}"
      format: wmbusmeters
      field: total_m3
      unit: m3
    - topic_template: "wmbusmeters/{meter}"
      format: wmbusmeters
      field: total_energy_consumption_kwh
      unit: kWh
http:
  listen: %s
agent:
  debounce: 50ms
`, broker, listen)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startService runs `meteragent run` in-process on the real clock (MQTT
// readings carry arrival times) and returns a channel with its exit code.
func startService(t *testing.T, ctx context.Context, dir string) (<-chan int, *testbroker.SyncBuffer) {
	t.Helper()
	stderr := &testbroker.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runEnv(ctx, &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, now: time.Now}, []string{"run", "--config", dir})
	}()
	return done, stderr
}

func getJSON(t testing.TB, url string, v any) bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return true
}

func meterOf(r statusReport, id string) meterStatus {
	for _, m := range r.Meters {
		if m.ID == id {
			return m
		}
	}
	return meterStatus{}
}

// TestServiceLive is the path of "Done when": readings published to a broker
// show up recomputed in /status and `meteragent status` within seconds; the
// commands talk to the running agent; cancelling stops it cleanly and
// releases the database.
func TestServiceLive(t *testing.T) {
	broker := testbroker.StartMochi(t)
	listen := freeAddr(t)
	dir := agentDir(t, serviceConfig(broker.URL(), listen))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done, stderr := startService(t, ctx, dir)
	base := "http://" + listen
	var rep statusReport
	testbroker.Eventually(ctx, t, func() bool { return getJSON(t, base+"/status", &rep) }, "agent API not up; log:\n%s", stderr)

	// The agent subscribes once connected; until then the broker drops
	// what it has no session for, so publish until the first reading lands.
	pub := testbroker.NewPublisher(t, broker.URL(), "test-publisher", testbroker.PublisherOptions{})
	testbroker.Eventually(ctx, t, func() bool {
		testbroker.Publish(t, pub, "shellies/em/emeter/0/total", "1234500") // Wh
		time.Sleep(20 * time.Millisecond)
		getJSON(t, base+"/status", &rep)
		return meterOf(rep, "strom").LastReading != nil
	}, "strom's reading never arrived; log:\n%s", stderr)
	wtime := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	pubW := time.Now()
	testbroker.Publish(t, pub, "wmbusmeters/wasser", fmt.Sprintf(`{"media":"water","meter":"multical21","id":"1","total_m3":52.125,"timestamp":%q}`, wtime.Format(time.RFC3339)))
	testbroker.Publish(t, pub, "wmbusmeters/heizung", `{"total_energy_consumption_kwh":210.5,"timestamp":"`+wtime.Format(time.RFC3339)+`"}`)
	testbroker.Publish(t, pub, "shellies/em/emeter/0/total", "12.34.56") // dead letter

	testbroker.Eventually(ctx, t, func() bool {
		getJSON(t, base+"/status", &rep)
		w, h, s := meterOf(rep, "wasser"), meterOf(rep, "heizung"), meterOf(rep, "rest")
		// The initial recompute ran before pubW: a later one of wasser
		// (and of rest, which subtracts heizung) was caused by the new
		// readings.
		return w.LastReading != nil && h.LastReading != nil && rep.DeadLetters["mqtt"] == 1 &&
			s.LastRecompute != nil && !s.LastRecompute.Before(pubW) &&
			w.LastRecompute != nil && !w.LastRecompute.Before(pubW)
	}, "readings not recomputed; status %+v", rep)

	s := meterOf(rep, "strom")
	if s.LastReading.Value != 1234.5 {
		t.Errorf("strom's reading = %v kWh, want 1234.5 (1234500 Wh scaled)", s.LastReading.Value)
	}
	if s.Readings < 1 || s.ReadingsToday != s.Readings {
		t.Errorf("strom has %d readings, %d today; want them all today", s.Readings, s.ReadingsToday)
	}
	if w := meterOf(rep, "wasser"); w.LastReading.Value != 52.125 || !w.LastReading.Time.Equal(wtime) {
		t.Errorf("wasser's reading = %+v, want 52.125 m³ at the payload's time %v", w.LastReading, wtime)
	}
	if h := meterOf(rep, "heizung"); h.LastReading.Value != 210.5 {
		t.Errorf("heizung's reading = %v, want 210.5 (the kWh template)", h.LastReading.Value)
	}
	if rep.Source != "agent" || rep.Agent == nil || rep.Agent.Recomputes < 2 || rep.MQTT == nil || rep.MQTT.DeadLettered != 1 {
		t.Errorf("status = %+v agent %+v mqtt %+v", rep, rep.Agent, rep.MQTT)
	}

	// The commands ask the running agent.
	code, out, errOut := runCmd(t, ctx, "status", "--config", dir)
	if code != 0 || !strings.Contains(out, "1234.5") || !strings.Contains(out, "dead letters: mqtt 1") || !strings.Contains(out, "mqtt tcp://") {
		t.Errorf("status exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, ctx, "import", "csv", filepath.Join(agentTestdata, "readings.csv"), "--config", dir)
	if code != 0 || !strings.Contains(out, "through the running agent: 123 readings, 123 new") {
		t.Errorf("import exit %d: %s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, ctx, "export", "--what", "readings", "--meter", "strom", "--config", dir)
	if code != 0 || !strings.HasPrefix(out, "meter_id,timestamp,value\nstrom,2024-01-01T08:00:00+01:00,1000\n") || !strings.Contains(out, ",1234.5\n") {
		t.Errorf("export readings exit %d:\n%.300s", code, out)
	}
	getJSON(t, base+"/status", &rep)
	stored := 0
	for _, m := range rep.Meters {
		stored += m.Readings
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(b)
	for _, want := range []string{
		fmt.Sprintf("meteragent_readings_added_total %d\n", stored),
		"meteragent_mqtt_dead_letters_total 1",
		`meteragent_meter_last_reading_value{meter="wasser"} 52.125`,
		"process_resident_memory_bytes",
		"# TYPE meteragent_readings_added_total counter\n",
		"# TYPE meteragent_meter_last_reading_value gauge\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run exit %d; log:\n%s", code, stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	db, err := storage.Open(filepath.Join(dir, "meteragent.db"), storage.Options{})
	if err != nil {
		t.Fatalf("reopen after stop: %v", err)
	}
	defer db.Close()
	rs, err := db.Readings("strom", time.Time{}, time.Time{})
	if err != nil || len(rs) < 42 {
		t.Errorf("strom has %d readings after stop (%v), want 41 imported + MQTT", len(rs), err)
	}
}

// TestServiceOffline runs the commands without an agent: import opens the
// store and recomputes, export reads the stored series, and those equal the
// process command's files for the same readings.
func TestServiceOffline(t *testing.T) {
	ctx := t.Context()
	dir := agentDir(t, "http:\n  listen: "+freeAddr(t)+"\n")
	readings := filepath.Join(agentTestdata, "readings.csv")

	code, out, errOut := runCmd(t, ctx, "status", "--config", dir)
	if code != 1 || !strings.Contains(errOut, "no database at") {
		t.Errorf("status before any run: exit %d %q, want 1 and no database", code, errOut)
	}
	code, out, errOut = runCmd(t, ctx, "import", "csv", readings, "--config", dir)
	if code != 0 || !strings.Contains(out, "123 readings, 123 new") {
		t.Fatalf("import exit %d: %s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, ctx, "import", "csv", readings, "--config", dir)
	if code != 0 || !strings.Contains(out, "123 readings, 0 new") {
		t.Errorf("second import exit %d: %s%s (want nothing new)", code, out, errOut)
	}

	procOut := t.TempDir()
	if code, _, errOut := runCmd(t, ctx, "process", "--config", dir, "--readings", readings, "--out", procOut); code != 0 {
		t.Fatalf("process exit %d: %s", code, errOut)
	}
	for _, what := range []string{"daily", "monthly", "anomalies"} {
		code, out, errOut := runCmd(t, ctx, "export", "--what", what, "--config", dir)
		if code != 0 {
			t.Fatalf("export %s exit %d: %s", what, code, errOut)
		}
		want, err := os.ReadFile(filepath.Join(procOut, what+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("export --what %s differs from process's %s.csv:\n%.400s\nwant\n%.400s", what, what, out, want)
		}
	}
	code, out, _ = runCmd(t, ctx, "export", "--what", "daily", "--meter", "rest", "--config", dir)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) < 2 || !strings.HasPrefix(lines[1], "rest,2024-01-01,") {
		t.Errorf("export daily of rest: exit %d\n%.200s", code, out)
	}

	code, out, _ = runCmd(t, ctx, "export", "--what", "readings", "--config", dir)
	exported := filepath.Join(t.TempDir(), "export.csv")
	if err := os.WriteFile(exported, []byte(out), 0o600); err != nil || code != 0 {
		t.Fatal(code, err)
	}
	code, out, errOut = runCmd(t, ctx, "import", "csv", exported, "--config", dir)
	if code != 0 || !strings.Contains(out, "123 readings, 0 new") {
		t.Errorf("re-import of the export: exit %d %s%s, want the same 123 readings", code, out, errOut)
	}

	code, out, _ = runCmd(t, ctx, "status", "--config", dir)
	if code != 0 || !strings.Contains(out, "agent: not running") || !strings.Contains(out, "dead letters: none") {
		t.Errorf("offline status exit %d:\n%s", code, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "strom" {
			// meter kind unit date time value today readings ...
			if len(f) < 8 || f[3] != "2024-04-30" || f[5] != "2260.4" || f[7] != "41" {
				t.Errorf("strom's status line = %q, want last reading 2024-04-30 of 2260.4 kWh and 41 readings", line)
			}
		}
	}

	code, out, errOut = runCmd(t, ctx, "import", "csv", filepath.Join(agentTestdata, "meters.yaml"), "--config", dir)
	if code != 1 || !strings.Contains(errOut, "meters.yaml:1:") {
		t.Errorf("import of a non-CSV: exit %d %q, want 1 and the file's line", code, errOut)
	}
}

func TestCheckConfig(t *testing.T) {
	ctx := t.Context()
	dir := agentDir(t, serviceConfig("tcp://127.0.0.1:1883", "127.0.0.1:8099"))
	code, out, errOut := runCmd(t, ctx, "check-config", "--config", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		": OK", "5 (3 physical, 1 master, 1 virtual)",
		// strom by its own block, wasser by the m³ template, heizung by the kWh one.
		"tcp://127.0.0.1:1883 as meteragent-test, 3 meter subscriptions",
		`full recompute "0 2 * * *" in Europe/Berlin, next 2026-11-28 02:00 CET`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out)
		}
	}

	if strings.Contains(out, "influxdb:") {
		t.Errorf("check-config mentions InfluxDB for a config without it:\n%s", out)
	}
	// An old pipeline's influxdb section is accepted, and the user is told
	// that nothing is written there yet.
	withInflux := agentDir(t, serviceConfig("tcp://127.0.0.1:1883", "127.0.0.1:8099")+"influxdb:\n  url: http://127.0.0.1:8086\n")
	if code, out, errOut = runCmd(t, ctx, "check-config", "--config", withInflux); code != 0 ||
		!strings.Contains(out, "influxdb: http://127.0.0.1:8086 is configured but not used") {
		t.Errorf("check-config with influxdb.url: exit %d %q %q", code, out, errOut)
	}

	bad := agentDir(t, "")
	replaceIn(t, filepath.Join(bad, "config.yaml"), `"0 2 * * *"`, `"61 2 * * *"`)
	code, _, errOut = runCmd(t, ctx, "check-config", "--config", bad)
	if code != 1 || !strings.Contains(errOut, "workflows.analytics.schedule: cron expression \"61 2 * * *\"") {
		t.Errorf("bad cron: exit %d %q", code, errOut)
	}
	bad = agentDir(t, "mqtt:\n  broker: tcp://x\n  subscriptions:\n    - {meter: rest, topic: a, format: number}\n")
	code, _, errOut = runCmd(t, ctx, "check-config", "--config", bad)
	if code != 1 || !strings.Contains(errOut, "config.yaml:15: mqtt.subscriptions[0].meter: \"rest\" is a virtual meter") {
		t.Errorf("subscription of a virtual meter: exit %d %q", code, errOut)
	}
	bad = agentDir(t, "mqtt:\n  broker: ssl://localhost\n  tls: {ca_file: missing.pem}\n  subscriptions:\n    - {meter: strom, topic: a, format: number}\n")
	code, _, errOut = runCmd(t, ctx, "check-config", "--config", bad)
	if code != 1 || !strings.Contains(errOut, "missing.pem") {
		t.Errorf("missing CA file: exit %d %q", code, errOut)
	}
}

func TestSubscriptionsScale(t *testing.T) {
	s, err := loadSetup(agentDir(t, serviceConfig("tcp://127.0.0.1:1883", "")))
	if err != nil {
		t.Fatal(err)
	}
	subs, err := subscriptions(s)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, sub := range subs {
		got[sub.Meter] = fmt.Sprintf("%s %s %s %g", sub.Topic, sub.Format, sub.Field, sub.Scale)
	}
	want := map[string]string{
		"strom":   "shellies/em/emeter/0/total number  0.001",
		"wasser":  "wmbusmeters/wasser wmbusmeters total_m3 1",
		"heizung": "wmbusmeters/heizung wmbusmeters total_energy_consumption_kwh 1",
	}
	if len(got) != len(want) || len(subs) != len(want) {
		t.Errorf("subscriptions = %v, want %v", got, want)
	}
	for m, w := range want {
		if got[m] != w {
			t.Errorf("meter %s: %q, want %q", m, got[m], w)
		}
	}
}

// TestRunLockedAndCorrupt: a second agent on the same file, and an agent on
// a damaged file, exit 1 with a message that says what is wrong, and leave
// the file's bytes as they were.
func TestRunLockedAndCorrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	listen := freeAddr(t)
	dir := agentDir(t, "http:\n  listen: "+listen+"\n")
	done, stderr := startService(t, ctx, dir)
	var rep statusReport
	testbroker.Eventually(ctx, t, func() bool {
		return getJSON(t, "http://"+listen+"/status", &rep) && rep.Agent != nil && rep.Agent.Recomputes >= 1
	}, "first agent not up; log:\n%s", stderr)
	path := filepath.Join(dir, "meteragent.db")
	before := fileHash(t, path)

	second := agentDir(t, "storage:\n  path: "+path+"\nhttp:\n  listen: \"\"\n")
	code, _, errOut := runCmd(t, ctx, "run", "--config", second)
	if code != 1 || !strings.Contains(errOut, "is another meteragent running?") || !strings.Contains(errOut, path) {
		t.Errorf("second agent: exit %d, stderr %q; want 1 and the lock message naming the file", code, errOut)
	}
	if fileHash(t, path) != before {
		t.Error("the second agent changed the database file")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("first agent exit %d; log:\n%s", code, stderr)
	}

	corrupt := agentDir(t, "http:\n  listen: \"\"\n")
	path = filepath.Join(corrupt, "meteragent.db")
	junk := bytes.Repeat([]byte("not a database "), 2000)
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCmd(t, t.Context(), "run", "--config", corrupt)
	if code != 1 || !strings.Contains(errOut, "not a usable meteragent database") || !strings.Contains(errOut, path) {
		t.Errorf("corrupt database: exit %d, stderr %q", code, errOut)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, junk) {
		t.Error("run changed the corrupt file")
	}
}

func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestDBCommands(t *testing.T) {
	ctx := t.Context()
	dir := agentDir(t, "http:\n  listen: \"\"\n")
	if code, _, errOut := runCmd(t, ctx, "import", "csv", filepath.Join(agentTestdata, "readings.csv"), "--config", dir); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := runCmd(t, ctx, "db", "check", "--config", dir)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("OK (schema %d, 3 meters, 123 readings)", storage.CurrentSchema)) {
		t.Errorf("db check exit %d: %s%s", code, out, errOut)
	}
	// 2024-01-01 + 3 days × i: readings 0..9 are before 2024-01-31.
	code, out, errOut = runCmd(t, ctx, "db", "prune", "--before", "2024-01-31", "--config", dir)
	if code != 0 || !strings.Contains(out, "deleted 30 readings before 2024-01-31") {
		t.Errorf("db prune exit %d: %s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, ctx, "db", "compact", "--config", dir)
	if code != 0 || !strings.Contains(out, "compacted ") {
		t.Errorf("db compact exit %d: %s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, ctx, "db", "check", "--config", dir)
	if code != 0 || !strings.Contains(out, "93 readings") {
		t.Errorf("db check after prune and compact: exit %d %s", code, out)
	}
	if code, _, errOut := runCmd(t, ctx, "db", "prune", "--config", dir); code != 2 || !strings.Contains(errOut, "--before") {
		t.Errorf("prune without --before: exit %d %q, want usage error", code, errOut)
	}
	if code, _, _ := runCmd(t, ctx, "db", "vacuum", "--config", dir); code != 2 {
		t.Errorf("unknown db command: exit %d, want 2", code)
	}
}

// agentStore must report what the store added, so the agent recomputes
// only when something changed.
func TestAgentStoreAdded(t *testing.T) {
	db, err := storage.Open(filepath.Join(t.TempDir(), "m.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := newAgentStore(db, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := []processing.MeterReading{{Meter: "a", Time: t0, Value: 1}, {Meter: "a", Time: t0.Add(time.Hour), Value: 2}}
	tests := []struct {
		rs        []processing.MeterReading
		wantAdded int
	}{
		{rs, 2},
		{rs, 0},
		{[]processing.MeterReading{{Meter: "a", Time: t0, Value: 5}}, 0}, // conflict: stored value kept
		{[]processing.MeterReading{{Meter: "a", Time: t0.Add(-time.Hour), Value: math.NaN()}}, 0},
		// A batch with a stored reading, a later rejected one and a later
		// conflicting one: neither refused reading may become the latest.
		{[]processing.MeterReading{
			{Meter: "a", Time: t0.Add(-2 * time.Hour), Value: 0.5},
			{Meter: "a", Time: t0.Add(3 * time.Hour), Value: math.Inf(1)},
			{Meter: "a", Time: t0.Add(time.Hour), Value: 7},
		}, 1},
	}
	for i, tt := range tests {
		got, err := st.AddReadings(tt.rs)
		if err != nil || got != tt.wantAdded {
			t.Errorf("batch %d: added %d, %v; want %d", i, got, err, tt.wantAdded)
		}
	}
	if st.conflicts.Load() != 2 || st.rejected.Load() != 2 || st.duplicates.Load() != 2 {
		t.Errorf("conflicts %d rejected %d duplicates %d, want 2 2 2", st.conflicts.Load(), st.rejected.Load(), st.duplicates.Load())
	}
	if last := st.lastReadings()["a"]; last.Value != 2 || !last.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("last reading = %+v, want the later one", last)
	}
}

func replaceIn(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s lacks %q (%v)", path, old, err)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600); err != nil {
		t.Fatal(err)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// The packaged example must load with the seed meters and build every
// subscription it describes.
func TestConfigExample(t *testing.T) {
	t.Setenv("MQTT_PASSWORD", "example")
	dir := t.TempDir()
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("../../packaging/config.example.yaml", "config.yaml")
	copyFile(filepath.Join(demoDir, "meters.yaml"), "meters.yaml")
	copyFile(filepath.Join(demoDir, "seasonal_patterns.yaml"), "seasonal_patterns.yaml")
	code, out, errOut := runCmd(t, t.Context(), "check-config", "--config", dir)
	if code != 0 {
		t.Fatalf("check-config exit %d: %s", code, errOut)
	}
	// 22 physical meters: 21 by the two templates (haupt_strom has its own
	// subscription) and haupt_strom's Tasmota one.
	if !strings.Contains(out, "tcp://localhost:1883 as meteragent, 22 meter subscriptions") {
		t.Errorf("check-config:\n%s", out)
	}
}

// Label values are quoted as the Prometheus text format wants them.
func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"strom":      `"strom"`,
		`a"b`:        `"a\"b"`,
		`c:\d`:       `"c:\\d"`,
		"x\ny":       `"x\ny"`,
		"wärmepumpe": `"wärmepumpe"`,
	} {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %s, want %s", in, got, want)
		}
	}
}
