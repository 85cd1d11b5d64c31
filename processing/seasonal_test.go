package processing_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

func TestNewPattern(t *testing.T) {
	p, err := processing.NewPattern([12]float64{15, 12, 10, 8, 5, 4, 4, 4, 5, 8, 12, 13})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, v := range p {
		sum += v
	}
	if !near(sum, 1, 1e-15) || !near(p[0], 0.15, 1e-15) || !near(p[5], 0.04, 1e-15) {
		t.Errorf("got %v (sum %v), want the percentages as shares", p, sum)
	}
	for _, bad := range [][12]float64{
		{},
		{1, -1},
		{math.NaN()},
		{math.Inf(1)},
	} {
		if _, err := processing.NewPattern(bad); !errors.Is(err, processing.ErrInvalidPattern) {
			t.Errorf("NewPattern(%v): %v, want ErrInvalidPattern", bad, err)
		}
	}
}

// TestPatternIntensity checks the [FIX] weighting: each day of a month gets
// an equal part of the month's share, the days of a year average 1, and
// every year stands on its own.
func TestPatternIntensity(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	p := processing.Pattern{15, 12, 10, 8, 5, 4, 4, 4, 5, 8, 12, 13} // not normalised: sums to 100
	f := p.Intensity()
	for _, year := range []int{1900, 2000, 2023, 2024} {
		days := map[int]int{1900: 365, 2000: 366, 2023: 365, 2024: 366}[year]
		var total float64
		var perMonth [12]float64
		for d := day(loc, year, 1, 1); d.Year() == year; d = d.AddDate(0, 0, 1) {
			v := f(d)
			total += v
			perMonth[d.Month()-1] += v
		}
		if !near(total, float64(days), 1e-12) {
			t.Errorf("%d: intensities sum to %v, want %d", year, total, days)
		}
		for m, v := range perMonth {
			if want := float64(days) * p[m] / 100; !near(v, want, 1e-12) {
				t.Errorf("%d-%02d: %v, want %v", year, m+1, v, want)
			}
		}
	}
	if a, b := f(day(loc, 2024, 2, 1)), f(day(loc, 2024, 2, 29)); a != b {
		t.Errorf("February days differ: %v, %v", a, b)
	}
}

func TestProductIntensity(t *testing.T) {
	if processing.ProductIntensity(nil, nil) != nil {
		t.Error("no profiles: want nil (time-linear)")
	}
	two := func(time.Time) float64 { return 2 }
	weekend := func(d time.Time) float64 {
		if d.Weekday() == time.Saturday {
			return 3
		}
		return math.NaN() // unknown counts as average
	}
	f := processing.ProductIntensity(two, nil, weekend)
	if got := f(day(time.UTC, 2024, 1, 6)); got != 6 {
		t.Errorf("Saturday: %v, want 6", got)
	}
	if got := f(day(time.UTC, 2024, 1, 8)); got != 2 {
		t.Errorf("Monday: %v, want 2", got)
	}
}

// TestPatternScaleFree checks that a pattern in percent and the same pattern
// normalised shape extrapolation identically.
func TestPatternScaleFree(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	rs := everyNDays(day(loc, 2024, 1, 1), 5, 2, 100, 2)
	raw := processing.Pattern{10, 10, 10, 8, 7, 6, 6, 6, 7, 8, 11, 11}
	norm, err := processing.NewPattern(raw)
	if err != nil {
		t.Fatal(err)
	}
	opt := processing.DailyOptions{Location: loc, To: day(loc, 2024, 6, 1), MaxExtrapolationDays: -1}
	opt.Pattern = &raw
	a := build(t, rs, opt)
	opt.Pattern = &norm
	b := build(t, rs, opt)
	for k := range a.Days {
		if !near(a.Days[k].Reading, b.Days[k].Reading, 1e-12) {
			t.Fatalf("%s: %v vs %v", a.Days[k].Date, a.Days[k].Reading, b.Days[k].Reading)
		}
	}
}
