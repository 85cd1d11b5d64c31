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
// loc is the zone of the days, in which the months start (nil means UTC).
func Monthly(days []Day, loc *time.Location) []Month {
	if len(days) == 0 {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	// Sorted days (the usual case) span exactly the months from the first
	// day's to the last day's.
	span := func(d Day) int {
		y, m, _ := d.Date.Civil()
		return 12*y + int(m)
	}
	out := make([]Month, 0, min(max(span(days[len(days)-1])-span(days[0])+1, 1), len(days)))
	var from, to int // civil days of the last Month: [from, to)
	// The last Month's use and days are summed in variables and stored
	// when it is done: summed in the Month, each addition would also wait
	// for the store of the one before it.
	use, n := math.NaN(), 0
	for _, d := range days {
		if c := int(d.Date); len(out) == 0 || c < from || c >= to {
			if len(out) > 0 {
				out[len(out)-1].Consumption, out[len(out)-1].Days = use, n
			}
			use, n = math.NaN(), 0
			y, m, dd := civilFromDays(c)
			from = c - dd + 1
			to = from + daysInMonth(y, m)
			out = append(out, Month{
				Start:       time.Date(y, m, 1, 0, 0, 0, 0, loc),
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
		if n == 0 {
			use = 0
		}
		use += d.Consumption
		n++
	}
	out[len(out)-1].Consumption, out[len(out)-1].Days = use, n
	return out
}
