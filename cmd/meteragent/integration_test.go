package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/meteragent/meteragent/agent/testbroker"
	"github.com/meteragent/meteragent/storage"
)

// The end-to-end tests below run the real binary against a real Mosquitto.
// They skip when mosquitto is missing, except under CI=true (testbroker).

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// agentBinary builds cmd/meteragent once per test run.
func agentBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "meteragent-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "meteragent")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// agentProc is `meteragent run` as a child process.
type agentProc struct {
	t    *testing.T
	bin  string
	dir  string
	log  *testbroker.SyncBuffer
	cmd  *exec.Cmd
	done chan error
}

func (p *agentProc) start() {
	p.t.Helper()
	cmd := exec.Command(p.bin, "run", "--config", p.dir)
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd, p.done = cmd, make(chan error, 1)
	go func() { p.done <- cmd.Wait() }()
}

// kill ends the agent with SIGKILL: no shutdown code runs.
func (p *agentProc) kill() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// stop ends the agent with SIGTERM and fails the test unless it exits 0.
func (p *agentProc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Errorf("agent exit on SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Error("agent did not stop on SIGTERM")
	}
	p.cmd = nil
}

// ingestSetup starts Mosquitto and writes a config whose meter strom also
// takes JSON readings {"v": value, "t": time} on test/strom.
func ingestSetup(t *testing.T) (*testbroker.Mosquitto, *agentProc, string) {
	t.Helper()
	bin := agentBinary(t)
	broker := testbroker.StartMosquitto(t, testbroker.MosquittoConfig{})
	listen := freeAddr(t)
	dir := agentDir(t, fmt.Sprintf(`
mqtt:
  broker: %s
  client_id: meteragent-e2e
  subscriptions:
    - {meter: strom, topic: test/strom, format: json, field: v, time_field: t}
http:
  listen: %s
agent:
  debounce: 200ms
`, broker.URL(), listen))
	p := &agentProc{t: t, bin: bin, dir: dir, log: &testbroker.SyncBuffer{}}
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill()
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", p.log)
		}
	})
	return broker, p, "http://" + listen
}

// strom's readings in the ingest tests: value i at base + i minutes.
var ingestBase = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func ingestPayload(i int) string {
	return fmt.Sprintf(`{"v":%d,"t":%q}`, i, ingestBase.Add(time.Duration(i)*time.Minute).Format(time.RFC3339))
}

// publishRetrying publishes at QoS 1 until the broker acknowledges, as a
// producer that must not lose a reading does across broker restarts.
func publishRetrying(ctx context.Context, c paho.Client, topic, payload string) error {
	for {
		tok := c.Publish(topic, 1, false, payload)
		if tok.WaitTimeout(2*time.Second) && tok.Error() == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// strom readings stored, from the agent's /status (0 while it is down).
func storedReadings(t *testing.T, base string) int {
	var rep statusReport
	if !getJSON(t, base+"/status", &rep) {
		return -1
	}
	return meterOf(rep, "strom").Readings
}

// warmUp publishes reading 0 until the agent has it: from then on the
// broker holds the agent's persistent session and queues for it.
func warmUp(ctx context.Context, t *testing.T, pub paho.Client, base string) {
	t.Helper()
	testbroker.Eventually(ctx, t, func() bool {
		if err := publishRetrying(ctx, pub, "test/strom", ingestPayload(0)); err != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
		return storedReadings(t, base) >= 1
	}, "the agent never received the first reading")
}

// publishSteady publishes readings 1..n-1 at about rate per second in the
// background and closes the returned channel when all are acknowledged.
func publishSteady(ctx context.Context, t *testing.T, pub paho.Client, n, rate int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 1; i < n; i++ {
			<-tick.C
			if err := publishRetrying(ctx, pub, "test/strom", ingestPayload(i)); err != nil {
				t.Errorf("publish %d: %v", i, err)
				return
			}
		}
	}()
	return done
}

// checkExactlyOnce opens the database and checks that strom holds readings
// 0..n-1, each once with its value.
func checkExactlyOnce(t *testing.T, dir string, n int) {
	t.Helper()
	db, err := storage.Open(filepath.Join(dir, "meteragent.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Readings("strom", ingestBase, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != n {
		t.Errorf("strom has %d readings, want %d", len(rs), n)
	}
	for i, r := range rs {
		want := ingestBase.Add(time.Duration(i) * time.Minute)
		if !r.Time.Equal(want) || r.Value != float64(i) {
			t.Fatalf("reading %d = %v %v, want %v %d (a reading is missing or wrong)", i, r.Time, r.Value, want, i)
		}
	}
	if cs, err := db.Conflicts("strom"); err != nil || len(cs) != 0 {
		t.Errorf("conflicts = %v, %v; want none", cs, err)
	}
}

// waitStored waits until the running agent reports n strom readings.
func waitStored(ctx context.Context, t *testing.T, base string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	last := 0
	for {
		if last = storedReadings(t, base); last >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("agent holds %d of %d readings", last, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestAtLeastOnceSIGKILL publishes QoS 1 readings at a steady pace while
// the agent is killed with SIGKILL and restarted at random moments. The
// persistent session keeps what arrives while it is down, and a message is
// acknowledged only after its commit, so every reading is stored exactly
// once in the end.
func TestAtLeastOnceSIGKILL(t *testing.T) {
	const n, rate, kills = 2000, 400, 4
	ctx := t.Context()
	broker, p, base := ingestSetup(t)
	p.start()
	pub := testbroker.NewPublisher(t, broker.URL(), "e2e-publisher", testbroker.PublisherOptions{})
	warmUp(ctx, t, pub, base)

	rng := rand.New(rand.NewPCG(20261127, 1))
	publishing := time.Duration(n/rate) * time.Second
	at := make([]time.Duration, kills)
	for i := range at {
		at[i] = time.Duration(rng.Int64N(int64(publishing)))
	}
	slices.Sort(at)
	start := time.Now()
	done := publishSteady(ctx, t, pub, n, rate)
	for _, d := range at {
		time.Sleep(time.Until(start.Add(d)))
		p.kill()
		time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
		p.start()
	}
	<-done
	waitStored(ctx, t, base, n)
	p.stop()
	checkExactlyOnce(t, p.dir, n)
}

// TestBrokerRestart stops and restarts Mosquitto (with its persistent
// store) twice while readings are published; ingest resumes and nothing is
// lost.
func TestBrokerRestart(t *testing.T) {
	const n, rate = 1500, 400
	ctx := t.Context()
	broker, p, base := ingestSetup(t)
	p.start()
	pub := testbroker.NewPublisher(t, broker.URL(), "e2e-publisher", testbroker.PublisherOptions{})
	warmUp(ctx, t, pub, base)

	done := publishSteady(ctx, t, pub, n, rate)
	for _, d := range []time.Duration{time.Second, 2500 * time.Millisecond} {
		time.Sleep(d)
		broker.Stop()
		time.Sleep(300 * time.Millisecond)
		broker.Start()
	}
	<-done
	waitStored(ctx, t, base, n)
	p.stop()
	checkExactlyOnce(t, p.dir, n)
}

// TestDemoHouseRSS runs the agent on the demo house (26 meters, 19,000
// readings imported first) with MQTT, waits for the first full recompute and
// for a live one after a published reading, and logs the agent's resident
// memory. It asserts behaviour only; the figure is for the README:
//
//	go test -run DemoHouseRSS -v ./cmd/meteragent
func TestDemoHouseRSS(t *testing.T) {
	bin := agentBinary(t)
	broker := testbroker.StartMosquitto(t, testbroker.MosquittoConfig{})
	listen := freeAddr(t)
	dir := demoConfigDir(t, func(name string, b []byte) []byte {
		if name == "config.yaml" {
			b = fmt.Appendf(b, "\nmqtt:\n  broker: %s\n  subscriptions:\n    - {meter: haupt_strom, topic: tibber/haupt_strom, format: json, field: v, time_field: t}\nhttp:\n  listen: %s\nagent:\n  debounce: 100ms\n", broker.URL(), listen)
		}
		return b
	})
	if out, err := exec.Command(bin, "import", "csv", filepath.Join(demoDir, "readings.csv"), "--config", dir).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	p := &agentProc{t: t, bin: bin, dir: dir, log: &testbroker.SyncBuffer{}}
	p.start()
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill()
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", p.log)
		}
	})
	base := "http://" + listen
	var rep statusReport
	recomputes := func() int {
		if !getJSON(t, base+"/status", &rep) || rep.Agent == nil {
			return 0
		}
		return rep.Agent.Recomputes
	}
	testbroker.Eventually(t.Context(), t, func() bool { return recomputes() >= 1 }, "no first recompute")
	if len(rep.Meters) != 26 || rep.Agent.LastError != "" {
		t.Fatalf("status after the first recompute: %d meters, error %q", len(rep.Meters), rep.Agent.LastError)
	}
	first := procMemory(t, p.cmd.Process.Pid)
	firstTook := rep.Agent.LastDurationSec

	pub := testbroker.NewPublisher(t, broker.URL(), "rss-publisher", testbroker.PublisherOptions{})
	at := time.Now().Truncate(time.Second)
	testbroker.Eventually(t.Context(), t, func() bool {
		testbroker.Publish(t, pub, "tibber/haupt_strom", fmt.Sprintf(`{"v":99999,"t":%q}`, at.Format(time.RFC3339)))
		time.Sleep(200 * time.Millisecond)
		return recomputes() >= 2
	}, "no recompute after a published reading")
	if m := meterOf(rep, "haupt_strom"); m.LastReading == nil || m.LastReading.Value != 99999 {
		t.Errorf("haupt_strom's last reading = %+v, want the published one", m.LastReading)
	}
	live := procMemory(t, p.cmd.Process.Pid)
	t.Logf("demo house: first full recompute %.2fs, live recompute %.2fs", firstTook, rep.Agent.LastDurationSec)
	t.Logf("RSS after the first full recompute: %s", first)
	t.Logf("RSS after a live recompute:         %s", live)
	p.stop()
}

// procMemory returns VmRSS and VmHWM of a process from /proc.
func procMemory(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "VmHWM:") {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(out, ", ")
}
