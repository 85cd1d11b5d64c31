package processing

import (
	"math"
	"time"
)

// Monthly aggregates a daily series into local calendar months, in order.
//
// A month's Reading is the register at its first local midnight, or NaN when
// the series starts later in the month. Consumption is the sum of the month's
// known daily use and Days counts those days; a month without a known day has
// Consumption NaN and Days 0 but is still listed when the series has a row in
// it, because its Reading (the register at the 1st) closes the month before.
// Labels are month starts, so no month is labelled with a future date, and
// the use of a month's last day belongs to that month (spec §2.10, W-16).
//
// loc is the zone whose calendar defines the months; nil means each Day's own
// Date location.
func Monthly(days []Day, loc *time.Location) []Month {
	if len(days) == 0 {
		return nil
	}
	// Sorted days (the usual case) span exactly the months from the first
	// day's to the last day's.
	span := func(d Day) int {
		t := d.Date
		if loc != nil {
			t = t.In(loc)
		}
		y, m, _ := t.Date()
		return 12*y + int(m)
	}
	out := make([]Month, 0, min(max(span(days[len(days)-1])-span(days[0])+1, 1), len(days)))
	var dc dayClock
	var from, to int // civil days of the last Month: [from, to)
	for _, d := range days {
		t := d.Date
		if loc != nil {
			t = t.In(loc)
		}
		// The same date as t.Date(), from the zone period's offset.
		if dc.loc != t.Location() {
			dc = dayClock{loc: t.Location()}
		}
		if c := dc.day(t); len(out) == 0 || c < from || c >= to {
			y, m, dd := civilFromDays(c)
			from = c - dd + 1
			to = from + daysInMonth(y, m)
			out = append(out, Month{
				Start:       time.Date(y, m, 1, 0, 0, 0, 0, t.Location()),
				Reading:     math.NaN(),
				Consumption: math.NaN(),
			})
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
