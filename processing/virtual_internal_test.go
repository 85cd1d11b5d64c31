package processing

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// uses builds a series from daily use (registers accumulate from 0), so that
// tests can state the spec's consumption vectors directly.
func uses(start int, u ...float64) []Day {
	regs := make([]float64, len(u)+1)
	for i, v := range u {
		regs[i+1] = regs[i] + v
	}
	return series(date(2024, 1, start), regs...)
}

// Spec §4 observed eg_kalfire: gas_total use [0,3,2,1] (days 1-4) minus
// gastherme_gesamt kWh [–,10.221304,30.663912,5.0] converted kWh→m³ with the
// default gas factor 10.221304 = [1.0, 3.0, 0.489174]. The old pipeline
// clipped 2−3 to 0 and counted the missing day 1 as 0.
func TestVirtualKalfire(t *testing.T) {
	src := results(
		physical("gas_total", M3, uses(1, 0, 3, 2, 1)),
		physical("gastherme_gesamt", KWh, uses(2, 10.221304, 30.663912, 5.0)),
	)
	m := Meter{ID: "eg_kalfire", Kind: Virtual, Unit: M3, Base: "gas_total",
		Subtract: []Subtrahend{{ID: "gastherme_gesamt", From: KWh, To: M3}}}
	days, _, events, err := buildVirtual(m, src, judgeAll, berlin, 0)
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	wantUse := []float64{nan, 2.0, -1, 0.510826, nan}
	wantReg := []float64{0, 0, 2, 1, 1.510826}
	for i, d := range days {
		if math.Abs(d.Consumption-wantUse[i]) > 1e-6 || math.IsNaN(d.Consumption) != math.IsNaN(wantUse[i]) {
			t.Errorf("day %d use = %v, want %v", i+1, d.Consumption, wantUse[i])
		}
		if math.Abs(d.Reading-wantReg[i]) > 1e-6 {
			t.Errorf("day %d reading = %v, want %v", i+1, d.Reading, wantReg[i])
		}
	}
	k := kinds(events)
	if k[EventMissingSource] != 1 || k[EventNegativeBalance] != 1 || len(events) != 2 {
		t.Fatalf("events = %v, want one missing_source and one negative_balance", events)
	}
	for _, e := range events {
		if e.Kind == EventNegativeBalance && (!strings.Contains(e.Message, "1 days") || !strings.Contains(e.Message, "-1 in total")) {
			t.Errorf("negative balance message %q lacks the count and sum", e.Message)
		}
	}
}

// Spec §4 observed strom_allgemein = strom_total − eg − og1 − og2 (days 2-4).
func TestVirtualStromAllgemein(t *testing.T) {
	base := physical("strom_total", KWh, uses(2, 10, 10, 10))
	eg := physical("eg_strom", KWh, uses(2, 3, 4, 12))
	og1 := physical("og1_strom", KWh, uses(2, 2, 2, 0))
	m := Meter{ID: "strom_allgemein", Kind: Virtual, Unit: KWh, Base: "strom_total",
		Subtract: []Subtrahend{{ID: "eg_strom"}, {ID: "og1_strom"}, {ID: "og2_strom"}}}

	t.Run("og2 without data", func(t *testing.T) {
		days, _, events, err := buildVirtual(m, results(base, eg, og1, physical("og2_strom", KWh, nil)), judgeAll, berlin, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range days {
			if !math.IsNaN(d.Consumption) || d.Quality != QualityUnknown {
				t.Errorf("day %d = %+v, want unknown (og2 missing is not 0)", i, d)
			}
		}
		if len(events) != 1 || events[0].Kind != EventMissingSource || !strings.Contains(events[0].Message, "og2_strom") ||
			!strings.Contains(events[0].Message, "3 days") {
			t.Errorf("events = %v, want one missing_source for og2_strom, 3 days", events)
		}
	})
	t.Run("og2 with data", func(t *testing.T) {
		og2 := physical("og2_strom", KWh, uses(2, 1, 1, 1))
		src := results(base, eg, og1, og2)
		days, _, events, err := buildVirtual(m, src, judgeAll, berlin, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []float64{4, 3, -3}
		for i, w := range want {
			if !near(days[i].Consumption, w) {
				t.Errorf("day %d use = %v, want %v", i, days[i].Consumption, w)
			}
			// The balance holds on every day, negative or not.
			sum := days[i].Consumption
			for _, id := range []string{"eg_strom", "og1_strom", "og2_strom"} {
				sum += src[id].Days[i].Consumption
			}
			if !near(sum, src["strom_total"].Days[i].Consumption) {
				t.Errorf("day %d: virtual + subtrahends = %v, want the base's %v", i, sum, src["strom_total"].Days[i].Consumption)
			}
		}
		if len(events) != 1 || events[0].Kind != EventNegativeBalance {
			t.Errorf("events = %v, want one negative_balance", events)
		}
	})
}

// Quality is the worst of the inputs', and float residue is not a negative day.
func TestVirtualQualityAndResidue(t *testing.T) {
	b := uses(1, 0.3, 1)
	s := uses(1, 0.1, 1)
	s2 := uses(1, 0.2, 0)
	s[0].Quality = QualityExtrapolated
	days, _, events, err := buildVirtual(Meter{ID: "v", Kind: Virtual, Base: "b", Subtract: []Subtrahend{{ID: "s"}, {ID: "s2"}}},
		results(physical("b", KWh, b), physical("s", KWh, s), physical("s2", KWh, s2)), judgeAll, berlin, 0)
	if err != nil {
		t.Fatal(err)
	}
	if days[0].Quality != QualityExtrapolated || days[1].Quality != QualityMeasured {
		t.Errorf("qualities = %v, %v, want extrapolated, measured", days[0].Quality, days[1].Quality)
	}
	if len(events) != 0 { // 0.3 − 0.1 − 0.2 is −2.8e-17 in float64
		t.Errorf("events = %v, want none", events)
	}
}

func TestVirtualInvalid(t *testing.T) {
	src := results(physical("b", KWh, uses(1, 1)), physical("s", KWh, uses(1, 1)))
	for _, c := range []struct {
		name string
		m    Meter
		want error
	}{
		{"no base", Meter{ID: "v", Kind: Virtual}, ErrInvalidMeter},
		{"unknown base", Meter{ID: "v", Kind: Virtual, Base: "x"}, ErrUnknownMeter},
		{"unknown subtrahend", Meter{ID: "v", Kind: Virtual, Base: "b", Subtract: []Subtrahend{{ID: "x"}}}, ErrUnknownMeter},
		{"bad conversion", Meter{ID: "v", Kind: Virtual, Base: "b", Subtract: []Subtrahend{{ID: "s", From: KWh, To: "furlongs"}}}, ErrUnsupportedConversion},
	} {
		_, _, _, err := buildVirtual(c.m, src, judgeAll, berlin, 0)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), `"v"`) {
			t.Errorf("%s: err = %v, want %v naming the meter", c.name, err, c.want)
		}
	}
}
