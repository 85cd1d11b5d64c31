package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/config"
	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/processing/synth"
)

// demoHouse is the demo house's config and house.
func demoHouse(t testing.TB) (*config.Config, processing.House) {
	t.Helper()
	cfg, err := config.Load("../../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	house, err := newHouse(cfg, cfg.Location)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, house
}

// demoInput is the demo house as the process command reads it.
func demoInput(t testing.TB) (processing.House, map[string][]processing.Reading, processing.RunOptions) {
	t.Helper()
	cfg, house := demoHouse(t)
	f, err := os.Open("../../testdata/demo/readings.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	readings, err := readReadings(f, readingsInput{name: "readings.csv", loc: cfg.Location, kinds: meterKinds(house)})
	if err != nil {
		t.Fatal(err)
	}
	opt := runOptions(cfg, cfg.Location)
	opt.From = defaultFrom(cfg, house, readings, cfg.Location)
	opt.To = time.Date(2026, 11, 27, 0, 0, 0, 0, cfg.Location)
	return house, readings, opt
}

// demoReadingsInput is the demo house's readings file and the reader's
// input for it, as the process command sets it up (no size).
func demoReadingsInput(t testing.TB) ([]byte, readingsInput) {
	t.Helper()
	cfg, house := demoHouse(t)
	in, err := os.ReadFile("../../testdata/demo/readings.csv")
	if err != nil {
		t.Fatal(err)
	}
	return in, readingsInput{name: "readings.csv", loc: cfg.Location, kinds: meterKinds(house)}
}

// outputs renders a result as the three output files.
func outputs(res processing.Result) string {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	writeDaily(w, res)
	writeMonthly(w, res)
	writeAnomalies(w, res)
	w.Flush()
	return b.String()
}

// Spreading the physical meters over workers changes nothing: every worker
// count gives processing.Process's output, events and stats.
func TestProcessConcurrentlyMatchesProcess(t *testing.T) {
	house, readings, opt := demoInput(t)
	want, err := processing.Process(house, readings, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2, 3, 8} {
		got, err := processConcurrently(house, readings, opt, workers)
		if err != nil {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		sameResult(t, fmt.Sprintf("workers=%d", workers), got, want)
	}
}

// sameResult reports where got differs from want in what the command
// shows: the output files, and each meter's stats and events.
func sameResult(t *testing.T, label string, got, want processing.Result) {
	t.Helper()
	if outputs(got) != outputs(want) {
		t.Errorf("%s: outputs differ from Process", label)
	}
	for i := range want.Meters {
		g, w := got.Meters[i], want.Meters[i]
		if g.Meter.ID != w.Meter.ID || g.Stats != w.Stats || !slices.Equal(g.Events, w.Events) {
			t.Errorf("%s: meter %d: %s %+v %v, want %s %+v %v", label, i,
				g.Meter.ID, g.Stats, g.Events, w.Meter.ID, w.Stats, w.Events)
		}
	}
}

// breakMeters gives the first three physical meters with readings an
// invalid pattern, so that computing each fails, and returns their ids.
func breakMeters(house processing.House, readings map[string][]processing.Reading) []string {
	bad := processing.Pattern{-1}
	var broken []string
	for i := range house.Meters {
		m := &house.Meters[i]
		if m.Kind == processing.Physical && len(readings[m.ID]) > 0 && len(broken) < 3 {
			m.Pattern = &bad
			broken = append(broken, m.ID)
		}
	}
	return broken
}

// With several broken meters the error is the first in house order, as
// Process reports it, however the workers interleave.
func TestProcessConcurrentlyFirstError(t *testing.T) {
	house, readings, opt := demoInput(t)
	broken := breakMeters(house, readings)
	_, want := processing.Process(house, readings, opt)
	if !errors.Is(want, processing.ErrInvalidPattern) || !strings.Contains(want.Error(), broken[0]) {
		t.Fatalf("Process: %v, want an invalid pattern of %s", want, broken[0])
	}
	for _, workers := range []int{1, 2, 8} {
		if _, err := processConcurrently(house, readings, opt, workers); err == nil || err.Error() != want.Error() {
			t.Errorf("workers=%d: %v, want %v", workers, err, want)
		}
	}
}

// BenchmarkProcessPhase measures the process phase of the demo house on one
// goroutine and on GOMAXPROCS.
func BenchmarkProcessPhase(b *testing.B) {
	house, readings, opt := demoInput(b)
	for _, workers := range []int{1, 0} {
		name := "workers=1"
		if workers == 0 {
			name = "workers=GOMAXPROCS"
		}
		b.Run(name, func(b *testing.B) {
			w := workers
			if w == 0 {
				w = len(house.Meters)
			}
			for b.Loop() {
				if _, err := processConcurrently(house, readings, opt, w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProcessSynthetic measures the process phase as the command runs
// it (processConcurrently on GOMAXPROCS workers) on processing's synthetic
// house, the input of processing's BenchmarkProcess.
func BenchmarkProcessSynthetic(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ meters, years int }{{26, 6}, {500, 10}} {
		house, readings, opt := synth.House(c.meters, c.years, loc)
		n := 0
		for _, rs := range readings {
			n += len(rs)
		}
		b.Run(fmt.Sprintf("meters=%d/years=%d/readings=%d", c.meters, c.years, n), func(b *testing.B) {
			for b.Loop() {
				if _, err := processConcurrently(house, readings, opt, runtime.GOMAXPROCS(0)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
