package agent

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// degreeDayHouse is a gas meter whose daily use is a base load plus a fixed
// amount per heating degree day (base 15.5 °C), read every 30 days, and the
// outdoor temperature that drove it: a seasonal curve with day-to-day weather
// of σ = 4 °C, recorded every 3 hours. It returns the readings, the
// temperatures, and each day's true heating degree days by local midnight.
func degreeDayHouse(loc *time.Location) (gas, temps []processing.Reading, hdd map[time.Time]float64) {
	const (
		days     = 730
		baseLoad = 0.3  // m³ a day
		perHDD   = 0.25 // m³ per degree day
	)
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, loc)
	use := make([]float64, days)
	hdd = make(map[time.Time]float64, days)
	for d := range days {
		day := start.AddDate(0, 0, d)
		t := 9 - 9*math.Cos(2*math.Pi*float64(day.YearDay()-20)/365) + 4*rng.NormFloat64()
		for h := 0; h < 24; h += 3 {
			temps = append(temps, processing.Reading{Time: day.Add(time.Duration(h) * time.Hour), Value: t})
		}
		hdd[day] = math.Max(0, 15.5-t)
		use[d] = baseLoad + perHDD*hdd[day]
	}
	register := 1000.0
	for d := range days {
		day := start.AddDate(0, 0, d)
		if d%30 == 0 {
			// Read at 09:00: 9/24 of the day's use is on the register.
			gas = append(gas, processing.Reading{Time: day.Add(9 * time.Hour), Value: register + use[d]*9/24})
		}
		register += use[d]
	}
	return gas, temps, hdd
}

// TestTemperatureShapesDailyUse runs the agent over the degree-day house with
// and without the temperature series. Given the series, the daily use between
// two readings must follow the heating degree days it was made of; without
// it, the agent can only spread linearly or seasonally, which cannot know
// which day of a month was cold. The test correlates, within each reading
// interval, each day's deviation from the interval's mean use with its
// deviation from the interval's mean degree days.
func TestTemperatureShapesDailyUse(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	gas, temps, hdd := degreeDayHouse(loc)
	house := processing.House{Location: loc, GasKWhPerM3: 10, Meters: []processing.Meter{
		{ID: "gas", Kind: processing.Physical, Unit: processing.M3, Installed: time.Date(2023, 1, 1, 0, 0, 0, 0, loc)},
	}}
	run := func(t *testing.T, temperatureID string) (corr float64, store *memStore) {
		t.Helper()
		store = newMemStore()
		a, err := New(store, Options{
			House: house,
			Run: processing.RunOptions{
				From: time.Date(2023, 1, 1, 0, 0, 0, 0, loc), MaxExtrapolationDays: 0,
				Profiles: &processing.ProfileOptions{},
			},
			TemperatureID: temperatureID,
			Now:           func() time.Time { return time.Date(2025, 1, 1, 12, 0, 0, 0, loc) },
		})
		if err != nil {
			t.Fatal(err)
		}
		var rs []processing.MeterReading
		for _, r := range gas {
			rs = append(rs, processing.MeterReading{Meter: "gas", Time: r.Time, Value: r.Value})
		}
		for _, r := range temps {
			rs = append(rs, processing.MeterReading{Meter: "t_out", Time: r.Time, Value: r.Value})
		}
		if err := a.Commit(t.Context(), rs); err != nil {
			t.Fatal(err)
		}
		if err := a.RecomputeAll(); err != nil {
			t.Fatal(err)
		}
		return withinIntervalCorrelation(t, store.results["gas"].Days, loc, gas, hdd), store
	}

	t.Run("with temperature", func(t *testing.T) {
		corr, store := run(t, "t_out")
		if corr < 0.9 {
			t.Errorf("correlation of daily use with degree days within reading intervals = %.3f, want ≥ 0.9", corr)
		}
		if _, ok := store.results["t_out"]; ok {
			t.Error("the temperature series got a result of its own, like a meter")
		}
	})
	t.Run("without temperature", func(t *testing.T) {
		corr, _ := run(t, "")
		if corr > 0.5 {
			t.Errorf("correlation = %.3f without the temperature series, want < 0.5 (nothing tells cold days apart)", corr)
		}
	})
}

// withinIntervalCorrelation is the Pearson correlation, over the days that
// lie wholly between two consecutive readings, of each day's use and degree
// days, both taken as deviations from their interval's mean.
func withinIntervalCorrelation(t *testing.T, days []processing.Day, loc *time.Location, readings []processing.Reading, hdd map[time.Time]float64) float64 {
	t.Helper()
	var xs, ys []float64
	for i := 1; i < len(readings); i++ {
		var u, h []float64
		for _, d := range days {
			start, end := d.Date.In(loc), (d.Date + 1).In(loc)
			if start.Before(readings[i-1].Time) || end.After(readings[i].Time) || math.IsNaN(d.Consumption) {
				continue
			}
			u = append(u, d.Consumption)
			h = append(h, hdd[start])
		}
		mu, mh := mean(u), mean(h)
		for k := range u {
			xs = append(xs, u[k]-mu)
			ys = append(ys, h[k]-mh)
		}
	}
	if len(xs) < 300 {
		t.Fatalf("%d days between readings, want most of the 730", len(xs))
	}
	var sxy, sxx, syy float64
	for k := range xs {
		sxy += xs[k] * ys[k]
		sxx += xs[k] * xs[k]
		syy += ys[k] * ys[k]
	}
	if sxx == 0 {
		return 0 // use flat within every interval: no correlation
	}
	return sxy / math.Sqrt(sxx*syy)
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// Temperature readings are stored like a meter's but mark nothing for
// recompute: the series is not a meter of the house.
func TestTemperatureCommitMarksNothing(t *testing.T) {
	loc := time.UTC
	store := newMemStore()
	a, err := New(store, Options{House: testHouse(loc), TemperatureID: "t_out", Run: processing.RunOptions{Profiles: &processing.ProfileOptions{}}})
	if err != nil {
		t.Fatal(err)
	}
	rs := []processing.MeterReading{{Meter: "t_out", Time: time.Date(2024, 1, 2, 0, 0, 0, 0, loc), Value: -3.5}}
	added, err := a.Import(t.Context(), rs)
	if err != nil || added != 1 {
		t.Fatalf("Import = %d, %v; want 1 new reading", added, err)
	}
	if got, _ := store.Readings("t_out"); len(got) != 1 || got[0].Value != -3.5 {
		t.Errorf("stored temperature readings = %v", got)
	}
	if p := a.Status().Pending; p != 0 {
		t.Errorf("Pending = %d after a temperature reading, want 0", p)
	}
	select {
	case <-a.kick:
		t.Error("a temperature reading kicked the recompute loop")
	default:
	}
	rs = append(rs, processing.MeterReading{Meter: "new", Time: time.Date(2024, 1, 17, 0, 0, 0, 0, loc), Value: 1})
	if _, err := a.Import(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	if p := a.Status().Pending; p != 1 {
		t.Errorf("Pending = %d after a meter reading with a temperature one, want 1 (the meter)", p)
	}
}
