package processing_test

import (
	"math"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// The spec's acceptance cases (§10.1, §10.2) that test the old pipeline's
// helpers rather than its series are mapped here onto what replaced them:
//
//   - DP-1 (thinning thresholds) and DP-14 (a per-run cache) have no
//     counterpart: nothing is thinned and nothing is cached.
//   - DP-6..DP-8 (high-frequency reduction) become "dense input is sampled
//     exactly at each midnight" (W-2, W-3).
//   - DP-9..DP-11 (aggregation) become Monthly over the daily series.
//   - DP-15 (missing installation date) and DP-16 (pattern loading) are
//     configuration errors and patterns, tested in package config and by
//     TestPatternNormalised below.
//   - CC-5..CC-8 (annual consumption) become the sum of a year's days.
//   - CC-9..CC-12 (combining an old and a new meter) become a master meter
//     with an offset.

// TestDenseNotThinned: DP-6, DP-7, DP-8 with the W-2/W-3 fixes.
func TestDenseNotThinned(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	series := func(n int, step time.Duration) []processing.Reading {
		rs := make([]processing.Reading, n)
		for i := range rs {
			rs[i] = processing.Reading{Time: start.Add(time.Duration(i) * step), Value: float64(i)}
		}
		return rs
	}
	tests := []struct {
		name string
		rs   []processing.Reading
		per  float64 // readings per day
	}{
		{"DP-6 50 daily readings", series(50, 24*time.Hour), 1},
		// The old pipeline kept 22 rows and put 23 at 2024-01-01 00:00.
		{"DP-7 500 hourly readings", series(500, time.Hour), 24},
		// The old pipeline kept 51 of 2000 rows.
		{"DP-8 2000 minute readings", series(2000, time.Minute), 24 * 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			last := tc.rs[len(tc.rs)-1].Time
			s := build(t, tc.rs, processing.DailyOptions{
				Location: time.UTC, From: start, To: last, MaxExtrapolationDays: 0,
			})
			if len(s.Days) == 0 {
				t.Fatal("no days")
			}
			for i, d := range s.Days {
				// The register at midnight i is reading i·per, exactly.
				if want := float64(i) * tc.per; d.Reading != want {
					t.Errorf("%s: reading %v, want %v", d.Date, d.Reading, want)
				}
			}
			if tc.per > 1 && s.Days[0].Quality != processing.QualityMeasured {
				t.Errorf("first day of a dense meter is %v, want measured", s.Days[0].Quality)
			}
		})
	}
}

// TestMonthlyEmpty: DP-11.
func TestMonthlyEmpty(t *testing.T) {
	if got := processing.Monthly(nil, time.UTC); len(got) != 0 {
		t.Errorf("Monthly(nil) = %v, want none", got)
	}
}

// TestPatternNormalised: DP-16, and the shipped patterns that sum to 101.
func TestPatternNormalised(t *testing.T) {
	for _, raw := range [][12]float64{
		{10, 10, 10, 8, 7, 6, 6, 6, 7, 8, 11, 11},
		{15.1, 12.0, 12.5, 8.1, 3.5, 3.2, 2.7, 3.6, 5.2, 8.4, 12.2, 14.5}, // sums to 101
	} {
		p, err := processing.NewPattern(raw)
		if err != nil {
			t.Fatalf("NewPattern(%v): %v", raw, err)
		}
		sum := 0.0
		for _, v := range p {
			sum += v
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("NewPattern(%v) sums to %v, want 1", raw, sum)
		}
		if math.Abs(p[0]/p[5]-raw[0]/raw[5]) > 1e-12 {
			t.Errorf("NewPattern changed the ratios: %v", p)
		}
	}
	if _, err := processing.NewPattern([12]float64{}); err == nil {
		t.Error("NewPattern accepted a pattern that sums to 0")
	}
}

// yearUse is the use of the local days of year y in a daily series.
func yearUse(days []processing.Day, y int) float64 {
	sum := 0.0
	for _, d := range days {
		if dy, _, _ := d.Date.Civil(); dy == y && !math.IsNaN(d.Consumption) {
			sum += d.Consumption
		}
	}
	return sum
}

// TestAnnualUse: CC-5..CC-8, through the daily series.
func TestAnnualUse(t *testing.T) {
	utc := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	opt := processing.DailyOptions{Location: time.UTC, From: utc(2023, 1, 1), To: utc(2025, 3, 1), MaxExtrapolationDays: -1}

	// CC-5: 2023-12-31 = 1000 and 2024-12-31 = 1500. The old helper took the
	// difference of the rows nearest the year's ends (500); the days of 2024
	// add up to the same 500, extrapolated at the same rate past Dec 31.
	s := build(t, []processing.Reading{{Time: utc(2023, 12, 31), Value: 1000}, {Time: utc(2024, 12, 31), Value: 1500}}, opt)
	if got := yearUse(s.Days, 2024); math.Abs(got-500) > 1e-9 {
		t.Errorf("CC-5: 2024 use %v, want 500", got)
	}

	// CC-6: month-end readings 100..210 through 2024. 2024 runs from the
	// Jan 1 midnight (extrapolated back at the readings' rate) to the
	// Jan 1 2025 midnight: more than the old nearest-row 110, less than 200.
	var rs []processing.Reading
	for m := range 12 {
		rs = append(rs, processing.Reading{Time: utc(2024, time.Month(m+2), 0), Value: 100 + 10*float64(m)})
	}
	s = build(t, rs, opt)
	if got := yearUse(s.Days, 2024); !(got > 110 && got < 200) {
		t.Errorf("CC-6: 2024 use %v, want between 110 and 200", got)
	}

	// CC-7: no readings, no use.
	s = build(t, nil, opt)
	if got := yearUse(s.Days, 2024); got != 0 {
		t.Errorf("CC-7: 2024 use %v, want 0", got)
	}

	// CC-8: one reading in 2023: flat, so 2024 used nothing (and never less).
	s = build(t, []processing.Reading{{Time: utc(2023, 6, 1), Value: 100}}, opt)
	if got := yearUse(s.Days, 2024); got != 0 {
		t.Errorf("CC-8: 2024 use %v, want 0", got)
	}
}

// TestCombineAsMaster: CC-9..CC-12. The old combine_meter_readings stitched
// an old and a new meter with offset = last old − first new; a master meter
// with apply_offset does that at one shared midnight, so the combined
// register is continuous and its use is the old meter's plus the new one's.
func TestCombineAsMaster(t *testing.T) {
	utc := func(m time.Month, d int) time.Time { return time.Date(2024, m, d, 0, 0, 0, 0, time.UTC) }
	ramp := func(from, to time.Time, v0 float64) []processing.Reading {
		var rs []processing.Reading
		for d, v := from, v0; !d.After(to); d, v = d.AddDate(0, 0, 1), v+0.5 {
			rs = append(rs, processing.Reading{Time: d, Value: v})
		}
		return rs
	}
	house := func(oldEnd, newStart time.Time) processing.House {
		return processing.House{Location: time.UTC, Meters: []processing.Meter{
			{ID: "old", Kind: processing.Physical, Unit: processing.KWh, Installed: utc(1, 1), Removed: oldEnd},
			{ID: "new", Kind: processing.Physical, Unit: processing.KWh, Installed: newStart},
			{ID: "total", Kind: processing.Master, Unit: processing.KWh, Periods: []processing.Period{
				{Start: utc(1, 1), End: oldEnd, Sources: []string{"old"}, SourceUnit: processing.KWh},
				{Start: oldEnd.AddDate(0, 0, 1), Sources: []string{"new"}, SourceUnit: processing.KWh, ApplyOffset: true},
			}},
		}}
	}
	run := func(t *testing.T, h processing.House, rs map[string][]processing.Reading) processing.MeterResult {
		t.Helper()
		res, err := processing.Process(h, rs, processing.RunOptions{From: utc(1, 1), To: utc(12, 31), MaxExtrapolationDays: 0})
		if err != nil {
			t.Fatal(err)
		}
		for _, mr := range res.Meters {
			if mr.Meter.ID == "total" {
				return mr
			}
		}
		t.Fatal("no master in the result")
		return processing.MeterResult{}
	}
	checkContinuous := func(t *testing.T, days []processing.Day) {
		t.Helper()
		for i := 1; i < len(days); i++ {
			if days[i].Reading < days[i-1].Reading {
				t.Fatalf("%s: register falls from %v to %v", days[i].Date, days[i-1].Reading, days[i].Reading)
			}
		}
	}

	t.Run("CC-9 replacement on 06-15", func(t *testing.T) {
		// Old 100 + 0.5/day to 06-15, new 0 + 0.5/day from 06-15.
		rs := map[string][]processing.Reading{
			"old": ramp(utc(1, 1), utc(6, 15), 100),
			"new": ramp(utc(6, 15), utc(12, 31), 0),
		}
		mr := run(t, house(utc(6, 14), utc(6, 15)), rs)
		checkContinuous(t, mr.Days)
		first, last := mr.Days[0], mr.Days[len(mr.Days)-1]
		// 0.5/day on every day of the year: 365 days from Jan 1 to Dec 31.
		if got, want := last.Reading-first.Reading, 0.5*365; math.Abs(got-want) > 1e-9 {
			t.Errorf("use over the year %v, want %v (no day lost at the replacement)", got, want)
		}
		if first.Reading != 100 {
			t.Errorf("register starts at %v, want the old meter's 100", first.Reading)
		}
	})

	t.Run("CC-10 CC-11 one side without readings", func(t *testing.T) {
		for _, missing := range []string{"old", "new"} {
			rs := map[string][]processing.Reading{
				"old": ramp(utc(1, 1), utc(6, 15), 100),
				"new": ramp(utc(6, 15), utc(12, 31), 0),
			}
			delete(rs, missing)
			mr := run(t, house(utc(6, 14), utc(6, 15)), rs)
			reported := false
			for _, e := range mr.Events {
				if e.Kind == processing.EventMissingSource || e.Kind == processing.EventOffset {
					reported = true
				}
			}
			if !reported {
				t.Errorf("without %s readings: nothing reported (events %v)", missing, mr.Events)
			}
		}
	})

	t.Run("CC-12 readings with a gap around the replacement", func(t *testing.T) {
		// Old readings end 06-10, new ones start 06-20: both meters are
		// extrapolated to the shared midnight, and the register never falls.
		rs := map[string][]processing.Reading{
			"old": ramp(utc(1, 1), utc(6, 10), 100),
			"new": ramp(utc(6, 20), utc(12, 31), 0),
		}
		opt := processing.RunOptions{From: utc(1, 1), To: utc(12, 31), MaxExtrapolationDays: -1}
		res, err := processing.Process(house(utc(6, 14), utc(6, 15)), rs, opt)
		if err != nil {
			t.Fatal(err)
		}
		mr := res.Meters[2]
		checkContinuous(t, mr.Days)
		if mr.Days[len(mr.Days)-1].Reading <= 100+0.5*160 {
			t.Errorf("register at the end %v: the new meter's use was not added on top", mr.Days[len(mr.Days)-1].Reading)
		}
	})
}
