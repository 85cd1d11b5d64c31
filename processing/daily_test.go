package processing_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func day(loc *time.Location, y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// everyNDays returns readings at local midnights from start, every step days,
// with values v0, v0+dv, ….
func everyNDays(start time.Time, count, step int, v0, dv float64) []processing.Reading {
	rs := make([]processing.Reading, count)
	for i := range rs {
		rs[i] = processing.Reading{Time: start.AddDate(0, 0, i*step), Value: v0 + float64(i)*dv}
	}
	return rs
}

func build(t testing.TB, rs []processing.Reading, opt processing.DailyOptions) processing.Series {
	t.Helper()
	s, err := processing.BuildDaily(rs, opt)
	if err != nil {
		t.Fatalf("BuildDaily: %v", err)
	}
	return s
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// dayAt returns the row of the local date y-m-d.
func dayAt(t testing.TB, s processing.Series, y int, m time.Month, d int) processing.Day {
	t.Helper()
	for _, row := range s.Days {
		if ry, rm, rd := row.Date.Civil(); ry == y && rm == m && rd == d {
			return row
		}
	}
	t.Fatalf("no row for %04d-%02d-%02d", y, m, d)
	return processing.Day{}
}

// TestDailySpecCases covers DP-12, DP-13 and the intent of I-3 (spec §10.1,
// §10.9) under the new day semantics.
func TestDailySpecCases(t *testing.T) {
	for _, zone := range []string{"UTC", "Europe/Berlin"} {
		loc := mustLoc(t, zone)
		tests := []struct {
			name       string
			rs         []processing.Reading
			opt        processing.DailyOptions
			firstDate  time.Time
			rows       int
			wantValues func(k int) float64 // register of row k
		}{
			{
				// DP-12: readings every 5 days 100, 102.5, …, 115 (0.5/day).
				name:      "DP-12 basic",
				rs:        everyNDays(day(loc, 2024, 1, 1), 7, 5, 100, 2.5),
				opt:       processing.DailyOptions{From: day(loc, 2024, 1, 1), To: day(loc, 2024, 1, 31), Installed: day(loc, 2024, 1, 1)},
				firstDate: day(loc, 2024, 1, 1), rows: 31,
				wantValues: func(k int) float64 { return 100 + 0.5*float64(k) },
			},
			{
				// DP-13: installed 2024-01-10, so the first row is that day's
				// midnight (104.5). The old test only asserted the first
				// timestamp; the values are the same as in DP-12.
				name:      "DP-13 installation",
				rs:        everyNDays(day(loc, 2024, 1, 1), 7, 5, 100, 2.5),
				opt:       processing.DailyOptions{From: day(loc, 2024, 1, 1), To: day(loc, 2024, 1, 31), Installed: day(loc, 2024, 1, 10)},
				firstDate: day(loc, 2024, 1, 10), rows: 22,
				wantValues: func(k int) float64 { return 104.5 + 0.5*float64(k) },
			},
			{
				// I-3: 100..130 every 5 days is 1/day; forward to 2024-03-31
				// at that rate (no pattern).
				name:      "I-3 forward",
				rs:        everyNDays(day(loc, 2024, 1, 1), 7, 5, 100, 5),
				opt:       processing.DailyOptions{From: day(loc, 2024, 1, 1), To: day(loc, 2024, 3, 31), Installed: day(loc, 2024, 1, 1), MaxExtrapolationDays: -1},
				firstDate: day(loc, 2024, 1, 1), rows: 91,
				wantValues: func(k int) float64 { return 100 + float64(k) },
			},
		}
		for _, tc := range tests {
			t.Run(zone+"/"+tc.name, func(t *testing.T) {
				tc.opt.Location = loc
				s := build(t, tc.rs, tc.opt)
				if len(s.Days) != tc.rows {
					t.Fatalf("got %d rows, want %d", len(s.Days), tc.rows)
				}
				if !s.Days[0].Date.In(loc).Equal(tc.firstDate) {
					t.Errorf("first row %v, want %v", s.Days[0].Date, tc.firstDate)
				}
				for k, d := range s.Days {
					if want := tc.wantValues(k); !near(d.Reading, want, 1e-12) {
						t.Errorf("row %d (%s): reading %v, want %v", k, d.Date, d.Reading, want)
					}
				}
				// New semantics: a day's use is labelled with the day it
				// happened, and the last day's use is unknown (not the old 0
				// on the first day, W-12).
				for k, d := range s.Days[:len(s.Days)-1] {
					if want := tc.wantValues(k+1) - tc.wantValues(k); !near(d.Consumption, want, 1e-9) {
						t.Errorf("row %d: consumption %v, want %v", k, d.Consumption, want)
					}
				}
				if c := s.Days[len(s.Days)-1].Consumption; !math.IsNaN(c) {
					t.Errorf("last consumption %v, want NaN", c)
				}
			})
		}
	}

	// I-3's monthly values of the spec are the registers at the old month-end
	// labels: 2024-01-31 = 130, 02-29 = 159, 03-31 = 190.
	loc := mustLoc(t, "Europe/Berlin")
	s := build(t, everyNDays(day(loc, 2024, 1, 1), 7, 5, 100, 5), processing.DailyOptions{
		Location: loc, From: day(loc, 2024, 1, 1), To: day(loc, 2024, 4, 1), MaxExtrapolationDays: -1,
	})
	for _, c := range []struct {
		m    time.Month
		d    int
		want float64
		q    processing.Quality
	}{
		{time.January, 31, 130, processing.QualityMeasured},
		{time.February, 29, 159, processing.QualityExtrapolated},
		{time.March, 31, 190, processing.QualityExtrapolated},
	} {
		row := dayAt(t, s, 2024, c.m, c.d)
		if !near(row.Reading, c.want, 1e-12) {
			t.Errorf("%v %d: %v, want %v", c.m, c.d, row.Reading, c.want)
		}
		if c.q == processing.QualityExtrapolated && row.Quality != c.q {
			t.Errorf("%v %d: quality %v, want %v", c.m, c.d, row.Quality, c.q)
		}
	}
}

// TestDailyBackward checks the §2.4 observed cases, which the new code keeps:
// the register is extrapolated back at the estimated rate and clamped at 0.
func TestDailyBackward(t *testing.T) {
	loc := time.UTC
	tests := []struct {
		name  string
		rs    []processing.Reading
		opt   processing.DailyOptions
		check map[time.Time]float64
	}{
		{
			// 50 on 03-01 at 1/day reaches 0 fifty days earlier, on 01-11.
			name: "zero crossing",
			rs:   []processing.Reading{{Time: day(loc, 2024, 3, 1), Value: 50}, {Time: day(loc, 2024, 4, 1), Value: 81}},
			opt:  processing.DailyOptions{Installed: day(loc, 2024, 1, 1), To: day(loc, 2024, 4, 1)},
			check: map[time.Time]float64{
				day(loc, 2024, 1, 1): 0, day(loc, 2024, 1, 11): 0, day(loc, 2024, 1, 12): 1,
				day(loc, 2024, 2, 29): 49, day(loc, 2024, 3, 1): 50, day(loc, 2024, 4, 1): 81,
			},
		},
		{
			name:  "no crossing",
			rs:    []processing.Reading{{Time: day(loc, 2024, 3, 1), Value: 500}, {Time: day(loc, 2024, 4, 1), Value: 531}},
			opt:   processing.DailyOptions{Installed: day(loc, 2024, 1, 1), To: day(loc, 2024, 4, 1)},
			check: map[time.Time]float64{day(loc, 2024, 1, 1): 440, day(loc, 2024, 2, 1): 471},
		},
		{
			// Installed long ago but the run starts 2024-02-01: only back to there.
			name:  "effective start",
			rs:    []processing.Reading{{Time: day(loc, 2024, 3, 1), Value: 500}, {Time: day(loc, 2024, 4, 1), Value: 531}},
			opt:   processing.DailyOptions{Installed: day(loc, 2020, 1, 1), From: day(loc, 2024, 2, 1), To: day(loc, 2024, 4, 1)},
			check: map[time.Time]float64{day(loc, 2024, 2, 1): 471},
		},
		{
			// W-5: one reading is flat both ways (its rate is unknown), not a
			// ramp from 0.
			name:  "single reading",
			rs:    []processing.Reading{{Time: day(loc, 2024, 3, 1).Add(13 * time.Hour), Value: 500}},
			opt:   processing.DailyOptions{Installed: day(loc, 2024, 1, 1), To: day(loc, 2024, 4, 1)},
			check: map[time.Time]float64{day(loc, 2024, 1, 1): 500, day(loc, 2024, 3, 1): 500, day(loc, 2024, 4, 1): 500},
		},
		{
			// W-5: a constant meter has rate 0, so no fake ramp from 0.
			name:  "constant",
			rs:    everyNDays(day(loc, 2024, 3, 1), 10, 1, 77, 0),
			opt:   processing.DailyOptions{Installed: day(loc, 2024, 1, 1), To: day(loc, 2024, 4, 1)},
			check: map[time.Time]float64{day(loc, 2024, 1, 1): 77, day(loc, 2024, 4, 1): 77},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Location = loc
			tc.opt.MaxExtrapolationDays = -1
			s := build(t, tc.rs, tc.opt)
			first, last := tc.rs[0].Time, tc.rs[len(tc.rs)-1].Time
			for k, d := range s.Days {
				if want, ok := tc.check[d.Date.In(loc)]; ok && !near(d.Reading, want, 1e-12) {
					t.Errorf("%s: %v, want %v", d.Date, d.Reading, want)
				}
				outside := d.Date.In(loc).Before(first) || k+1 < len(s.Days) && s.Days[k+1].Date.In(loc).After(last)
				if outside && d.Quality != processing.QualityExtrapolated {
					t.Errorf("%s: quality %v, want extrapolated", d.Date, d.Quality)
				}
			}
		})
	}
}

// pattern216 is the §2.6 golden pattern (percent).
var pattern216 = processing.Pattern{15, 12, 10, 8, 5, 4, 4, 4, 5, 8, 12, 13}

// TestDailySeasonal checks DP-17 and DP-18 under the §2.6 [FIX]: each day
// weighs its month's share divided by that month's length, integrated from
// the last reading to the series' end, exact at both ends.
func TestDailySeasonal(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")

	t.Run("DP-17 January", func(t *testing.T) {
		// 0 on 2023-12-01 and 100 on 2024-01-01: 100/31 per day, so the total
		// over January (31 days) is T = 100, with V0 = 100 at S = 2024-01-01.
		// The window holds January days only, so every one gets 100/31 (the
		// old code gave the single February point 44 %).
		rs := []processing.Reading{{Time: day(loc, 2023, 12, 1), Value: 0}, {Time: day(loc, 2024, 1, 1), Value: 100}}
		p := pattern216
		s := build(t, rs, processing.DailyOptions{Location: loc, From: day(loc, 2024, 1, 1), To: day(loc, 2024, 2, 1), Pattern: &p, MaxExtrapolationDays: -1})
		if len(s.Days) != 32 {
			t.Fatalf("%d rows, want 32", len(s.Days))
		}
		for _, d := range s.Days[:31] {
			if !near(d.Consumption, 100.0/31, 1e-12) {
				t.Errorf("%s: %v, want 100/31", d.Date, d.Consumption)
			}
		}
		if got := s.Days[31].Reading; !near(got, 200, 1e-12) {
			t.Errorf("2024-02-01: %v, want 200", got)
		}
	})

	t.Run("DP-17 across months", func(t *testing.T) {
		// Same rate to 2024-02-15: T = 45·100/31. January weighs 31·15/31 =
		// 15, February's 14 days 14·12/29.
		rs := []processing.Reading{{Time: day(loc, 2023, 12, 1), Value: 0}, {Time: day(loc, 2024, 1, 1), Value: 100}}
		p := pattern216
		s := build(t, rs, processing.DailyOptions{Location: loc, From: day(loc, 2024, 1, 1), To: day(loc, 2024, 2, 15), Pattern: &p, MaxExtrapolationDays: -1})
		total := 45 * 100.0 / 31
		weight := 15.0 + 14*12.0/29
		jan, feb := total*(15.0/31)/weight, total*(12.0/29)/weight
		for _, d := range s.Days[:len(s.Days)-1] {
			want := jan
			if d.Date.In(loc).Month() == time.February {
				want = feb
			}
			if !near(d.Consumption, want, 1e-12) {
				t.Errorf("%s: %v, want %v", d.Date, d.Consumption, want)
			}
		}
		if got := s.Days[len(s.Days)-1].Reading; !near(got, 100+total, 1e-12) {
			t.Errorf("end: %v, want %v", got, 100+total)
		}
	})

	t.Run("DP-18 forward", func(t *testing.T) {
		// 100..108 every 2 days from 2024-01-01 is 1/day. From 01-09 to 02-15
		// is 37 days, T = 37: 23 January days weigh 10/31 each, 14 February
		// days 10/29 each.
		rs := everyNDays(day(loc, 2024, 1, 1), 5, 2, 100, 2)
		p := processing.Pattern{10, 10, 10, 8, 7, 6, 6, 6, 7, 8, 11, 11}
		s := build(t, rs, processing.DailyOptions{Location: loc, From: day(loc, 2024, 1, 1), To: day(loc, 2024, 2, 15), Pattern: &p, MaxExtrapolationDays: -1})
		if len(s.Days) != 46 {
			t.Fatalf("%d rows, want 46", len(s.Days))
		}
		weight := 23*10.0/31 + 14*10.0/29
		jan, feb := 37*(10.0/31)/weight, 37*(10.0/29)/weight
		want := 100.0
		for k, d := range s.Days {
			if !near(d.Reading, want, 1e-12) {
				t.Errorf("%s: %v, want %v", d.Date, d.Reading, want)
			}
			switch {
			case k < 8:
				want++
			case d.Date.In(loc).Month() == time.January:
				want += jan
			default:
				want += feb
			}
		}
		if got := s.Days[45].Reading; !near(got, 145, 1e-12) {
			t.Errorf("02-15: %v, want 145", got)
		}
	})

	t.Run("backward pattern", func(t *testing.T) {
		// Backwards from 2024-03-01 (value 1000, 1/day from the readings) to
		// 2024-01-01: T = 60 (31 + 29 days), spread with January days
		// weighing 15/31 each (15 in all) and February days 12/29 (12).
		rs := []processing.Reading{{Time: day(loc, 2024, 3, 1), Value: 1000}, {Time: day(loc, 2024, 3, 11), Value: 1010}}
		p := pattern216
		s := build(t, rs, processing.DailyOptions{Location: loc, From: day(loc, 2024, 1, 1), To: day(loc, 2024, 3, 11), Pattern: &p, MaxExtrapolationDays: -1})
		weight := 15.0 + 12
		total := 60.0
		jan, feb := total*(15.0/31)/weight, total*(12.0/29)/weight
		if got := s.Days[0].Reading; !near(got, 940, 1e-12) {
			t.Errorf("2024-01-01: %v, want 940", got)
		}
		for _, d := range s.Days[:60] {
			want := jan
			if d.Date.In(loc).Month() == time.February {
				want = feb
			}
			if !near(d.Consumption, want, 1e-9) {
				t.Errorf("%s: %v, want %v", d.Date, d.Consumption, want)
			}
		}
	})
}

// TestDailyIntensity checks that Intensity spreads an interval's difference
// over its days in proportion to their weight, including partial days.
func TestDailyIntensity(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	weekend := func(d time.Time) float64 {
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return 2
		}
		return 1
	}
	// 2024-01-01 is a Monday. 90 units over one week: weight 5·1 + 2·2 = 9.
	rs := []processing.Reading{{Time: day(loc, 2024, 1, 1), Value: 0}, {Time: day(loc, 2024, 1, 8), Value: 90}}
	s := build(t, rs, processing.DailyOptions{Location: loc, Intensity: weekend})
	want := []float64{10, 10, 10, 10, 10, 20, 20}
	for k, w := range want {
		if !near(s.Days[k].Consumption, w, 1e-12) {
			t.Errorf("%s: %v, want %v", s.Days[k].Date, s.Days[k].Consumption, w)
		}
	}

	// Readings at Monday 12:00 and Wednesday 12:00 with intensity 1, 3, 1:
	// weight ½·1 + 3 + ½·1 = 4, so Tuesday gets ¾ of 40 and Tuesday's
	// midnight sits at 5.
	rs = []processing.Reading{{Time: day(loc, 2024, 1, 1).Add(12 * time.Hour), Value: 0}, {Time: day(loc, 2024, 1, 3).Add(12 * time.Hour), Value: 40}}
	tuesday := func(d time.Time) float64 {
		if d.Weekday() == time.Tuesday {
			return 3
		}
		return 1
	}
	s = build(t, rs, processing.DailyOptions{Location: loc, Intensity: tuesday})
	if len(s.Days) != 2 || !near(s.Days[0].Reading, 5, 1e-12) || !near(s.Days[0].Consumption, 30, 1e-12) {
		t.Errorf("got %+v, want Tuesday 5 → Wednesday 35", s.Days)
	}

	// Zero weight over the whole interval falls back to time-linear.
	s = build(t, rs, processing.DailyOptions{Location: loc, Intensity: func(time.Time) float64 { return 0 }})
	if len(s.Days) != 2 || !near(s.Days[0].Reading, 10, 1e-12) {
		t.Errorf("zero intensity: got %+v, want time-linear 10", s.Days)
	}

	// Intensity also shapes extrapolation: 1/day over the readings, forward
	// 14 days whose weekends weigh double.
	rs = everyNDays(day(loc, 2024, 1, 1), 8, 1, 0, 1)
	s = build(t, rs, processing.DailyOptions{Location: loc, To: day(loc, 2024, 1, 22), Intensity: func(time.Time) float64 { return 1 }, MaxExtrapolationDays: -1})
	if got := dayAt(t, s, 2024, 1, 22).Reading; !near(got, 21, 1e-12) {
		t.Errorf("flat intensity forward: %v, want 21", got)
	}
}

// TestDailyDST checks 23- and 25-hour local days in Europe/Berlin with hourly
// readings of one unit per hour.
func TestDailyDST(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	for _, tc := range []struct {
		start time.Time
		day   time.Time
		want  float64
	}{
		{time.Date(2024, 3, 29, 0, 0, 0, 0, time.UTC), day(loc, 2024, 3, 31), 23},
		{time.Date(2024, 10, 25, 0, 0, 0, 0, time.UTC), day(loc, 2024, 10, 27), 25},
	} {
		var rs []processing.Reading
		for h := range 5 * 24 {
			rs = append(rs, processing.Reading{Time: tc.start.Add(time.Duration(h) * time.Hour), Value: float64(h)})
		}
		s := build(t, rs, processing.DailyOptions{Location: loc})
		row := dayAt(t, s, tc.day.Year(), tc.day.Month(), tc.day.Day())
		if row.Consumption != tc.want || row.Quality != processing.QualityMeasured {
			t.Errorf("%s: %v (%v), want %v measured", tc.day.Format(time.DateOnly), row.Consumption, row.Quality, tc.want)
		}
		for _, d := range s.Days[:len(s.Days)-1] {
			if !d.Date.In(loc).Equal(tc.day) && d.Consumption != 24 {
				t.Errorf("%s: %v, want 24", d.Date, d.Consumption)
			}
		}
	}
}

// TestDailyMissingMidnight runs through a day that has no 00:00 (Santiago
// skips from 23:59:59 to 01:00 on 2024-09-08): it still gets a row that
// starts at its first instant, and is 23 hours long.
func TestDailyMissingMidnight(t *testing.T) {
	loc := mustLoc(t, "America/Santiago")
	start := time.Date(2024, 9, 5, 0, 0, 0, 0, time.UTC)
	var rs []processing.Reading
	for h := range 6 * 24 {
		rs = append(rs, processing.Reading{Time: start.Add(time.Duration(h) * time.Hour), Value: float64(h)})
	}
	s := build(t, rs, processing.DailyOptions{Location: loc})
	checkConsecutive(t, s, loc)
	row := dayAt(t, s, 2024, 9, 8)
	if row.Date.In(loc).Hour() != 1 || row.Consumption != 23 {
		t.Errorf("2024-09-08 starts %v with %v, want 01:00 and 23", row.Date, row.Consumption)
	}
}

// TestDailyDense samples a year of hourly readings exactly (W-2, W-3): every
// local midnight coincides with a reading and must be reproduced exactly; a
// half-hour shift puts every midnight halfway between two readings.
func TestDailyDense(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, shift := range []time.Duration{0, 30 * time.Minute} {
		rs := make([]processing.Reading, 8784)
		byTime := make(map[int64]int, len(rs)) // by UnixNano: map keys of time.Time compare locations too
		v := 1000.0
		for i := range rs {
			v += rng.Float64() * 3
			rs[i] = processing.Reading{Time: start.Add(time.Duration(i)*time.Hour + shift), Value: v}
			byTime[rs[i].Time.UnixNano()] = i
		}
		s := build(t, rs, processing.DailyOptions{Location: loc, From: day(loc, 2024, 1, 1), To: day(loc, 2024, 12, 31)})
		if len(s.Days) != 366 {
			t.Fatalf("shift %v: %d rows, want 366", shift, len(s.Days))
		}
		for _, d := range s.Days {
			var want float64
			if shift == 0 {
				want = rs[byTime[d.Date.In(loc).UnixNano()]].Value
			} else {
				i := byTime[d.Date.In(loc).Add(shift).UnixNano()] // the reading 30 min after midnight
				want = rs[i-1].Value + (rs[i].Value-rs[i-1].Value)/2
			}
			if shift == 0 && d.Reading != want || !near(d.Reading, want, 1e-13) {
				t.Fatalf("shift %v, %s: %v, want %v", shift, d.Date, d.Reading, want)
			}
			if d.Quality != processing.QualityMeasured && !math.IsNaN(d.Consumption) {
				t.Errorf("%s: quality %v, want measured", d.Date, d.Quality)
			}
		}
	}
}

// TestDailyQuality checks the measured/interpolated boundary at MeasuredGap.
func TestDailyQuality(t *testing.T) {
	loc := time.UTC
	for _, tc := range []struct {
		name string
		step time.Duration
		gap  time.Duration
		want processing.Quality
	}{
		{"2h readings, default gap", 2 * time.Hour, 0, processing.QualityMeasured},
		{"3h readings, default gap", 3 * time.Hour, 0, processing.QualityMeasured},
		{"4h readings, default gap", 4 * time.Hour, 0, processing.QualityInterpolated},
		{"4h readings, 5h gap", 4 * time.Hour, 5 * time.Hour, processing.QualityMeasured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Start 1 h after midnight so no reading lies on a midnight.
			var rs []processing.Reading
			for at := day(loc, 2024, 1, 1).Add(time.Hour); at.Before(day(loc, 2024, 1, 10)); at = at.Add(tc.step) {
				rs = append(rs, processing.Reading{Time: at, Value: float64(at.Unix()) / 3600})
			}
			s := build(t, rs, processing.DailyOptions{Location: loc, MeasuredGap: tc.gap})
			for _, d := range s.Days[:len(s.Days)-1] {
				if d.Quality != tc.want {
					t.Errorf("%s: %v, want %v", d.Date, d.Quality, tc.want)
				}
			}
			if q := s.Days[len(s.Days)-1].Quality; q != processing.QualityUnknown {
				t.Errorf("last row quality %v, want unknown", q)
			}
		})
	}
}

// TestDailyRange checks From/To/Installed/Removed and the extrapolation limit.
func TestDailyRange(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	rs := everyNDays(day(loc, 2024, 3, 1), 11, 1, 0, 1) // 03-01..03-11
	tests := []struct {
		name        string
		opt         processing.DailyOptions
		first, last time.Time
		cuts        int
	}{
		{"readings only", processing.DailyOptions{}, day(loc, 2024, 3, 1), day(loc, 2024, 3, 11), 0},
		{"from/to", processing.DailyOptions{From: day(loc, 2024, 2, 1), To: day(loc, 2024, 4, 1), MaxExtrapolationDays: -1},
			day(loc, 2024, 2, 1), day(loc, 2024, 4, 1), 0},
		{"installed and removed", processing.DailyOptions{From: day(loc, 2024, 1, 1), To: day(loc, 2024, 12, 31), Installed: day(loc, 2024, 2, 20), Removed: day(loc, 2024, 3, 20), MaxExtrapolationDays: -1},
			day(loc, 2024, 2, 20), day(loc, 2024, 3, 21), 0},
		{"UTC dates name local days", processing.DailyOptions{From: time.Date(2024, 2, 20, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC), MaxExtrapolationDays: -1},
			day(loc, 2024, 2, 20), day(loc, 2024, 3, 20), 0},
		{"limit 5", processing.DailyOptions{From: day(loc, 2024, 2, 1), To: day(loc, 2024, 4, 1), MaxExtrapolationDays: 5},
			day(loc, 2024, 2, 25), day(loc, 2024, 3, 16), 2},
		{"limit 0", processing.DailyOptions{From: day(loc, 2024, 2, 1), To: day(loc, 2024, 4, 1)},
			day(loc, 2024, 3, 1), day(loc, 2024, 3, 11), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Location = loc
			s := build(t, rs, tc.opt)
			if len(s.Days) == 0 {
				t.Fatal("empty series")
			}
			if got := s.Days[0].Date.In(loc); !got.Equal(tc.first) {
				t.Errorf("first %v, want %v", got, tc.first)
			}
			if got := s.Days[len(s.Days)-1].Date.In(loc); !got.Equal(tc.last) {
				t.Errorf("last %v, want %v", got, tc.last)
			}
			cuts := 0
			for _, e := range s.Events {
				if e.Kind == processing.EventExtrapolationCut {
					cuts++
				}
			}
			if cuts != tc.cuts {
				t.Errorf("%d cut events, want %d: %v", cuts, tc.cuts, s.Events)
			}
			checkConsecutive(t, s, loc)
		})
	}

	t.Run("readings outside the range anchor it", func(t *testing.T) {
		// 0 on 01-01 and 100 on 04-10 (100 days): the 02-01..02-03 rows lie
		// between them and are interpolated, not extrapolated.
		rs := []processing.Reading{{Time: day(loc, 2024, 1, 1), Value: 0}, {Time: day(loc, 2024, 4, 10), Value: 100}}
		s := build(t, rs, processing.DailyOptions{Location: loc, From: day(loc, 2024, 2, 1), To: day(loc, 2024, 2, 3)})
		for k, d := range s.Days {
			// Hours, not days: 2024-03-31 is 23 h long in Berlin.
			want := 100 * d.Date.In(loc).Sub(rs[0].Time).Hours() / rs[1].Time.Sub(rs[0].Time).Hours()
			if !near(d.Reading, want, 1e-12) || k < 2 && d.Quality != processing.QualityInterpolated {
				t.Errorf("%s: %v (%v), want %v interpolated", d.Date, d.Reading, d.Quality, want)
			}
		}
	})

	t.Run("empty range", func(t *testing.T) {
		s := build(t, rs, processing.DailyOptions{Location: loc, From: day(loc, 2024, 5, 1), To: day(loc, 2024, 4, 1)})
		if len(s.Days) != 0 {
			t.Errorf("%d rows, want none", len(s.Days))
		}
	})
}

func TestDailyErrorsAndEdges(t *testing.T) {
	if _, err := processing.BuildDaily(nil, processing.DailyOptions{}); !errors.Is(err, processing.ErrNoLocation) {
		t.Errorf("nil location: %v, want ErrNoLocation", err)
	}
	bad := processing.Pattern{1, -1}
	_, err := processing.BuildDaily(nil, processing.DailyOptions{Location: time.UTC, Pattern: &bad})
	if !errors.Is(err, processing.ErrInvalidPattern) {
		t.Errorf("bad pattern: %v, want ErrInvalidPattern", err)
	}
	s, err := processing.BuildDaily(nil, processing.DailyOptions{Location: time.UTC, From: day(time.UTC, 2024, 1, 1), To: day(time.UTC, 2024, 2, 1)})
	if err != nil || len(s.Days) != 0 {
		t.Errorf("no readings: %v, %d rows; want empty, no error", err, len(s.Days))
	}

	// The caller's slice is neither sorted nor otherwise changed.
	rs := []processing.Reading{{Time: day(time.UTC, 2024, 1, 3), Value: 3}, {Time: day(time.UTC, 2024, 1, 1), Value: 1}, {Time: day(time.UTC, 2024, 1, 1), Value: 1}}
	orig := slices.Clone(rs)
	s = build(t, rs, processing.DailyOptions{Location: time.UTC})
	if !slices.Equal(rs, orig) {
		t.Errorf("input changed: %v", rs)
	}
	if len(s.Days) != 3 || s.Days[1].Reading != 2 || len(s.Events) != 0 {
		t.Errorf("got %+v, want 1, 2, 3 and no events", s)
	}
}

// checkConsecutive asserts that rows are consecutive local days, each dated
// at its day's first instant.
func checkConsecutive(t testing.TB, s processing.Series, loc *time.Location) {
	t.Helper()
	for k, d := range s.Days {
		l := d.Date.In(loc)
		if prev := l.Add(-time.Nanosecond); prev.Day() == l.Day() {
			t.Fatalf("row %d %v is not the first instant of its day", k, d.Date)
		}
		if k > 0 {
			py, pm, pd := s.Days[k-1].Date.In(loc).Date()
			if next := time.Date(py, pm, pd+1, 12, 0, 0, 0, time.UTC); next.Year() != l.Year() || next.YearDay() != l.YearDay() {
				t.Fatalf("row %d %v does not follow %v", k, d.Date, s.Days[k-1].Date)
			}
		}
	}
}

// checkInvariants asserts what must hold for every series: consecutive days,
// consumption equal to the reading difference (NaN on the last row), finite
// and never decreasing registers (cleaning makes any input monotone), and
// every kept midnight-aligned reading reproduced exactly.
func checkInvariants(t testing.TB, rs []processing.Reading, s processing.Series, loc *time.Location, exact bool) {
	t.Helper()
	checkConsecutive(t, s, loc)
	for k, d := range s.Days {
		if math.IsNaN(d.Reading) || math.IsInf(d.Reading, 0) {
			t.Fatalf("row %d: reading %v", k, d.Reading)
		}
		if k == len(s.Days)-1 {
			if !math.IsNaN(d.Consumption) {
				t.Fatalf("last row consumption %v, want NaN", d.Consumption)
			}
			continue
		}
		if c := s.Days[k+1].Reading - d.Reading; d.Consumption != c {
			t.Fatalf("row %d: consumption %v, readings differ by %v", k, d.Consumption, c)
		}
		if d.Consumption < 0 {
			t.Fatalf("row %d (%v): negative consumption %v", k, d.Date, d.Consumption)
		}
		if d.Quality < processing.QualityMeasured || d.Quality > processing.QualityExtrapolated {
			t.Fatalf("row %d: quality %v", k, d.Quality)
		}
	}
	if !exact {
		return
	}
	rows := make(map[int64]processing.Day, len(s.Days))
	for _, d := range s.Days {
		rows[d.Date.In(loc).UnixNano()] = d
	}
	for _, r := range rs {
		if d, ok := rows[r.Time.UnixNano()]; ok && d.Reading != r.Value {
			t.Fatalf("reading %v at %v reproduced as %v", r.Value, r.Time, d.Reading)
		}
	}
}

// randomMeter returns monotone readings: some at local midnights, some at
// random instants, with random use (including long flat stretches).
func randomMeter(rng *rand.Rand, loc *time.Location, n int) []processing.Reading {
	at := day(loc, 2020+rng.IntN(4), time.Month(1+rng.IntN(12)), 1+rng.IntN(28))
	v := rng.Float64() * 1e5
	rs := make([]processing.Reading, 0, n)
	for range n {
		if rng.IntN(3) == 0 {
			y, m, d := at.Date()
			at = day(loc, y, m, d+1+rng.IntN(20))
		} else {
			at = at.Add(time.Duration(rng.Int64N(int64(15 * 24 * time.Hour))))
		}
		if rng.IntN(4) > 0 {
			v += rng.ExpFloat64() * 10
		}
		rs = append(rs, processing.Reading{Time: at, Value: v})
	}
	rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
	return rs
}

func TestDailyProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago"}
	for i := range 300 {
		loc := mustLoc(t, zones[i%len(zones)])
		rs := randomMeter(rng, loc, 1+rng.IntN(60))
		opt := processing.DailyOptions{Location: loc, MaxExtrapolationDays: rng.IntN(100) - 20}
		sorted := slices.SortedFunc(slices.Values(rs), func(a, b processing.Reading) int { return a.Time.Compare(b.Time) })
		first, last := sorted[0].Time, sorted[len(sorted)-1].Time
		if rng.IntN(2) == 0 {
			opt.From = first.AddDate(0, 0, -rng.IntN(200))
			opt.To = last.AddDate(0, 0, rng.IntN(200))
		}
		switch rng.IntN(3) {
		case 0:
			p := processing.Pattern{15, 12, 10, 8, 5, 4, 4, 4, 5, 8, 12, 13}
			opt.Pattern = &p
		case 1:
			opt.Intensity = func(d time.Time) float64 { return float64(d.Weekday()%3) + float64(d.Month())/6 }
		}
		s := build(t, rs, opt)
		checkInvariants(t, rs, s, loc, true)
		for _, e := range s.Events {
			if e.Kind != processing.EventExtrapolationCut {
				t.Fatalf("case %d: monotone input gave event %v", i, e)
			}
		}

		// Between two midnight-aligned readings the daily use sums to their
		// difference.
		idx := make(map[int64]int, len(s.Days))
		for k, d := range s.Days {
			idx[d.Date.In(loc).UnixNano()] = k
		}
		var aligned []processing.Reading
		for _, r := range sorted {
			if _, ok := idx[r.Time.UnixNano()]; ok {
				aligned = append(aligned, r)
			}
		}
		for j := 1; j < len(aligned); j++ {
			a, b := aligned[j-1], aligned[j]
			sum := 0.0
			for k := idx[a.Time.UnixNano()]; k < idx[b.Time.UnixNano()]; k++ {
				sum += s.Days[k].Consumption
			}
			if !near(sum, b.Value-a.Value, 1e-9) {
				t.Fatalf("case %d: use %v..%v sums to %v, want %v", i, a.Time, b.Time, sum, b.Value-a.Value)
			}
		}
	}
}

// FuzzBuildDaily feeds arbitrary, also decreasing, readings: BuildDaily must
// not panic or fail, and its output must keep the invariants.
func FuzzBuildDaily(f *testing.F) {
	f.Add([]byte{24, 10, 24, 20, 24, 30, 24, 40}, int8(-1), uint16(0), uint8(0))
	f.Add([]byte{0, 5, 1, 200, 3, 2, 48, 255, 48, 1}, int8(3), uint16(1000), uint8(1))
	f.Add([]byte{30, 100, 30, 90, 30, 120, 0, 0, 0, 3}, int8(0), uint16(0), uint8(2))
	f.Add([]byte{}, int8(5), uint16(10), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, maxExtrap int8, regSize uint16, shape uint8) {
		loc := mustLoc(t, "Europe/Berlin")
		at := time.Date(2024, 3, 20, 0, 0, 0, 0, loc)
		v := 500.0
		var rs []processing.Reading
		for i := 0; i+1 < len(data) && len(rs) < 200; i += 2 {
			at = at.Add(time.Duration(data[i]) * time.Hour)
			v += float64(int8(data[i+1]))
			rs = append(rs, processing.Reading{Time: at, Value: v})
		}
		opt := processing.DailyOptions{
			Location: loc, MaxExtrapolationDays: int(maxExtrap), RegisterSize: float64(regSize),
			From: time.Date(2024, 3, 10, 0, 0, 0, 0, loc), To: time.Date(2024, 12, 1, 0, 0, 0, 0, loc),
		}
		switch shape % 3 {
		case 1:
			p := processing.Pattern{15, 12, 10, 8, 5, 4, 0, 0, 5, 8, 12, 13}
			opt.Pattern = &p
		case 2:
			opt.Intensity = func(d time.Time) float64 { return float64(d.Weekday()) - 1 }
		}
		s, err := processing.BuildDaily(rs, opt)
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, rs, s, loc, false)
	})
}

// benchmarkMeter returns n readings from 2019-01-01, every step.
func benchmarkMeter(n int, step time.Duration) []processing.Reading {
	rng := rand.New(rand.NewPCG(3, 4))
	at := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	v := 0.0
	rs := make([]processing.Reading, n)
	for i := range rs {
		rs[i] = processing.Reading{Time: at, Value: v}
		at = at.Add(step + time.Duration(rng.Int64N(int64(step/4))))
		v += rng.Float64() * 5
	}
	return rs
}

func BenchmarkBuildDaily(b *testing.B) {
	loc := mustLoc(b, "Europe/Berlin")
	p := processing.Pattern{15, 12, 10, 8, 5, 4, 4, 4, 5, 8, 12, 13}
	for _, bc := range []struct {
		name string
		rs   []processing.Reading
		opt  processing.DailyOptions
	}{
		// A manually read meter: about weekly for six years, pattern, to today.
		{"sparse-6y", benchmarkMeter(300, 6*24*time.Hour), processing.DailyOptions{
			Location: loc, From: day(loc, 2019, 1, 1), To: day(loc, 2024, 12, 31), Pattern: &p, MaxExtrapolationDays: -1}},
		// Tibber: hourly for two years.
		{"hourly-2y", benchmarkMeter(2*8760, time.Hour), processing.DailyOptions{
			Location: loc, From: day(loc, 2019, 1, 1), To: day(loc, 2021, 1, 1), MaxExtrapolationDays: -1}},
		{"hourly-2y-intensity", benchmarkMeter(2*8760, time.Hour), processing.DailyOptions{
			Location: loc, From: day(loc, 2019, 1, 1), To: day(loc, 2021, 1, 1), MaxExtrapolationDays: -1, Intensity: p.Intensity()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := processing.BuildDaily(bc.rs, bc.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
