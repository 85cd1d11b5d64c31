package processing_test

import (
	"math"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, berlin) }

// measured builds a daily series from registers at consecutive local
// midnights; the last day's use is unknown.
func measured(start time.Time, regs ...float64) []processing.Day {
	days := make([]processing.Day, len(regs))
	for i, r := range regs {
		days[i] = processing.Day{Date: processing.DateOf(start.AddDate(0, 0, i)), Reading: r, Consumption: math.NaN()}
		if i+1 < len(regs) {
			days[i].Consumption = regs[i+1] - r
			days[i].Quality = processing.QualityMeasured
		}
	}
	return days
}

func rampOf(v0, step float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v0 + step*float64(i)
	}
	return out
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func TestMonthly(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name string
		days []processing.Day
		want []processing.Month
	}{
		{"empty", nil, nil},
		{
			// DP-10: 90 days from 2024-01-01, registers 0..89. The month's
			// reading is at its 1st (not at 00:00 of its last day, W-16); the
			// last row's use is unknown, so March has 29 known days.
			"DP-10", measured(date(2024, 1, 1), rampOf(0, 1, 90)...),
			[]processing.Month{
				{Start: date(2024, 1, 1), Reading: 0, Consumption: 31, Days: 31},
				{Start: date(2024, 2, 1), Reading: 31, Consumption: 29, Days: 29},
				{Start: date(2024, 3, 1), Reading: 60, Consumption: 29, Days: 29},
			},
		},
		{
			// Starts mid-month: no register at the 1st. Ends on a 1st: the
			// month is listed for its opening register, with no known day.
			"partial", measured(date(2024, 1, 30), 5, 7, 10),
			[]processing.Month{
				{Start: date(2024, 1, 1), Reading: nan, Consumption: 5, Days: 2},
				{Start: date(2024, 2, 1), Reading: 10, Consumption: nan, Days: 0},
			},
		},
		{
			// Unknown days do not count; across the DST change (31 March is a
			// 23-hour day) months are still calendar months.
			"gaps and DST", func() []processing.Day {
				d := measured(date(2024, 3, 30), 0, 1, 3, 6)
				d[1].Consumption = nan
				return d
			}(),
			[]processing.Month{
				{Start: date(2024, 3, 1), Reading: nan, Consumption: 1, Days: 1},
				{Start: date(2024, 4, 1), Reading: 3, Consumption: 3, Days: 1},
			},
		},
	} {
		got := processing.Monthly(c.days, berlin)
		if len(got) != len(c.want) {
			t.Errorf("%s: Monthly = %+v, want %+v", c.name, got, c.want)
			continue
		}
		for i, w := range c.want {
			g := got[i]
			if !g.Start.Equal(w.Start) || !sameFloat(g.Reading, w.Reading) || !sameFloat(g.Consumption, w.Consumption) || g.Days != w.Days {
				t.Errorf("%s: month %d = %+v, want %+v", c.name, i, g, w)
			}
		}
	}
}

// Months follow the days' calendar dates; the zone says where each month
// starts: 1 March is in March whatever the zone (its Berlin midnight is
// still 29 February in UTC), and nil means UTC.
func TestMonthlyLocation(t *testing.T) {
	days := measured(date(2024, 2, 29), 0, 1, 2)
	got := processing.Monthly(days, berlin)
	if len(got) != 2 || !got[1].Start.Equal(date(2024, 3, 1)) || got[1].Reading != 1 {
		t.Errorf("Monthly = %+v, want February and March (reading 1)", got)
	}
	for _, loc := range []*time.Location{time.UTC, nil} {
		utc := processing.Monthly(days, loc)
		if len(utc) != 2 || utc[0].Days != 1 || !utc[1].Start.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) || utc[1].Reading != 1 {
			t.Errorf("Monthly in %v = %+v, want February and March (reading 1) from UTC midnights", loc, utc)
		}
	}
}
