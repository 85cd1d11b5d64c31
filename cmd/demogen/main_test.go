package main

import (
	"bytes"
	"os"
	"runtime"
	"testing"
	"time"
)

func demo(t *testing.T) ([]reading, *time.Location) {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return generate(loc, 20261127), loc
}

// The committed readings must be what the generator writes, so that nobody
// edits them by hand and the README's regeneration command stays true. Other
// architectures may fuse multiply-adds and differ in a last digit.
func TestCommittedFileIsCurrent(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the committed file is generated on amd64")
	}
	rs, _ := demo(t)
	var buf bytes.Buffer
	if err := write(&buf, rs); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../testdata/demo/readings.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Error("testdata/demo/readings.csv is not what demogen writes; run go run ./cmd/demogen")
	}
}

func TestDemoInvariants(t *testing.T) {
	rs, loc := demo(t)
	byMeter := map[string][]reading{}
	for _, r := range rs {
		byMeter[r.meter] = append(byMeter[r.meter], r)
	}
	if len(byMeter) != 22 {
		t.Errorf("%d meters have readings, want the 22 physical meters", len(byMeter))
	}
	value := func(r reading) float64 { return float64(r.units) / pow10(r.dec) }

	t.Run("registers only grow, but for the typo and the reset", func(t *testing.T) {
		drops := map[string]int{}
		for id, ms := range byMeter {
			for i := 1; i < len(ms); i++ {
				if ms[i].units < ms[i-1].units {
					drops[id]++
				}
			}
		}
		want := map[string]int{"og1_strom": 1, "solarspeicher": 1}
		if len(drops) != len(want) || drops["og1_strom"] != 1 || drops["solarspeicher"] != 1 {
			t.Errorf("drops = %v, want %v", drops, want)
		}
	})

	t.Run("boiler total is the sum of its counters", func(t *testing.T) {
		h, w, g := byMeter["gastherme_heizen"], byMeter["gastherme_warmwasser"], byMeter["gastherme_gesamt"]
		if len(h) != len(g) || len(w) != len(g) {
			t.Fatalf("heizen %d, warmwasser %d, gesamt %d readings", len(h), len(w), len(g))
		}
		for i := range g {
			if g[i].units != h[i].units+w[i].units {
				t.Errorf("%v: gesamt %v != heizen %v + warmwasser %v", g[i].t, value(g[i]), value(h[i]), value(w[i]))
			}
		}
	})

	t.Run("people read between 07:00 and 21:00", func(t *testing.T) {
		for id, ms := range byMeter {
			if id == "haupt_strom" {
				continue
			}
			for _, r := range ms {
				if h := r.t.In(loc).Hour(); h < 7 || h >= 21 {
					t.Errorf("%s read at %v", id, r.t.In(loc))
				}
			}
		}
	})

	t.Run("haupt_strom is hourly from 2024-11-27 to 2026-11-27", func(t *testing.T) {
		ms := byMeter["haupt_strom"]
		first, last := ms[0].t, ms[len(ms)-1].t
		if !first.Equal(time.Date(2024, 11, 27, 0, 0, 0, 0, loc)) || !last.Equal(time.Date(2026, 11, 27, 0, 0, 0, 0, loc)) {
			t.Errorf("haupt_strom from %v to %v", first, last)
		}
		long := 0
		for i := 1; i < len(ms); i++ {
			if d := ms[i].t.Sub(ms[i-1].t); d != time.Hour {
				long++
				if d < time.Hour || d > 48*time.Hour {
					t.Errorf("haupt_strom step %v at %v", d, ms[i].t)
				}
			}
		}
		if long != 1 {
			t.Errorf("%d gaps in haupt_strom, want the one Pulse outage", long)
		}
	})

	t.Run("read gaps", func(t *testing.T) {
		for id, ms := range byMeter {
			for i := 1; i < len(ms); i++ {
				if d := ms[i].t.Sub(ms[i-1].t); d > 80*24*time.Hour {
					t.Errorf("%s: %v without a reading before %v", id, d, ms[i].t)
				}
			}
		}
	})
}

func pow10(n int) float64 {
	p := 1.0
	for range n {
		p *= 10
	}
	return p
}
