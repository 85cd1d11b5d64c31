package processing

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// daysInMonth (seasonal.go), which Monthly uses to find month ends, must
// agree with the time package's calendar.
func TestDaysInMonth(t *testing.T) {
	for y := 1599; y <= 2401; y++ {
		for m := time.January; m <= time.December; m++ {
			want := civil(y, m+1, 1) - civil(y, m, 1)
			if got := daysInMonth(y, m); got != want {
				t.Fatalf("daysInMonth(%d, %v) = %d, want %d", y, m, got, want)
			}
		}
	}
}

// monthlyReference is Monthly as first written: each day's date from the
// time package.
func monthlyReference(days []Day, loc *time.Location) []Month {
	if loc == nil {
		loc = time.UTC
	}
	var out []Month
	for _, d := range days {
		y, m, dd := d.Date.In(loc).Date()
		if n := len(out); n == 0 || out[n-1].Start.Year() != y || out[n-1].Start.Month() != m {
			out = append(out, Month{Start: time.Date(y, m, 1, 0, 0, 0, 0, loc), Reading: math.NaN(), Consumption: math.NaN()})
			if dd == 1 {
				out[len(out)-1].Reading = d.Reading
			}
		}
		if math.IsNaN(d.Consumption) {
			continue
		}
		mo := &out[len(out)-1]
		if mo.Days == 0 {
			mo.Consumption = 0
		}
		mo.Consumption += d.Consumption
		mo.Days++
	}
	return out
}

// Monthly finds month changes from civil day ranges; on sorted, gappy and
// shuffled days, in any zone, it must agree with the time package.
func TestMonthlyMatchesReference(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		var days []Day
		c := civil(2019, 12, 1) + rng.IntN(400)
		for range rng.IntN(200) {
			u := math.NaN()
			if rng.IntN(5) > 0 {
				u = rng.Float64()
			}
			days = append(days, Day{Date: Date(c), Reading: float64(c), Consumption: u})
			c += 1 + rng.IntN(3)*rng.IntN(20)
		}
		if trial%4 == 1 {
			rng.Shuffle(len(days), func(i, j int) { days[i], days[j] = days[j], days[i] })
		}
		for _, loc := range []*time.Location{nil, berlin, santiago} {
			got, want := Monthly(days, loc), monthlyReference(days, loc)
			if len(got) != len(want) {
				t.Fatalf("trial %d loc %v: %d months, want %d", trial, loc, len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if !g.Start.Equal(w.Start) || g.Start.Location() != w.Start.Location() || g.Days != w.Days ||
					math.Float64bits(g.Reading) != math.Float64bits(w.Reading) || math.Float64bits(g.Consumption) != math.Float64bits(w.Consumption) {
					t.Fatalf("trial %d loc %v: month %d = %+v, want %+v", trial, loc, i, g, w)
				}
			}
		}
	}
}
