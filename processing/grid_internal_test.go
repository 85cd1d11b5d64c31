package processing

import (
	"math"
	"testing"
	"time"
)

// dayClock and civilFromDays must agree with the time package's calendar
// (dayIn, midnight, civilDate) everywhere, including days with offset
// changes and zones whose midnight sometimes does not exist.
func TestDayClockMatchesTimePackage(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Berlin", "America/Santiago", "America/Havana", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Skipf("no zone data for %s: %v", name, err)
		}
		first, last := civil(1969, 6, 1), civil(2031, 1, 1)
		var dc dayClock
		dc.loc = loc
		for d := first; d <= last; d++ {
			if y, m, dd := civilFromDays(d); civil(y, m, dd) != d {
				t.Fatalf("civilFromDays(%d) = %d-%d-%d", d, y, m, dd)
			}
			want := midnight(d, loc)
			if got := dc.midnight(d); !got.Equal(want) || got.Location() != want.Location() {
				t.Fatalf("%s: midnight(%d) = %v, want %v", name, d, got, want)
			}
			// Instants through the day, including just before midnight.
			for _, off := range []time.Duration{0, time.Hour, 13 * time.Hour, 23*time.Hour + 59*time.Minute} {
				at := want.Add(off)
				if got, want := dc.day(at), dayIn(at, loc); got != want {
					t.Fatalf("%s: day(%v) = %d, want %d", name, at, got, want)
				}
			}
		}
		// Going back in time re-learns the zone period.
		for d := last; d >= first; d -= 37 {
			at := midnight(d, loc).Add(-time.Second)
			if got, want := dc.day(at), dayIn(at, loc); got != want {
				t.Fatalf("%s backwards: day(%v) = %d, want %d", name, at, got, want)
			}
		}
	}
}

// dayClock.dayPos answers as profDayPos, bit for bit, through days with
// offset changes and in zones whose midnight sometimes does not exist,
// whether the instants move forward or back.
func TestDayPosMatchesProfDayPos(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Berlin", "America/Santiago", "America/Havana", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Skipf("no zone data for %s: %v", name, err)
		}
		check := func(dc *dayClock, at time.Time) {
			t.Helper()
			gd, gf := dc.dayPos(at)
			wd, wf := profDayPos(at, loc)
			if gd != wd || math.Float64bits(gf) != math.Float64bits(wf) {
				t.Fatalf("%s: dayPos(%v) = %d, %v; profDayPos %d, %v", name, at, gd, gf, wd, wf)
			}
		}
		dc := dayClock{loc: loc}
		start := time.Date(1969, 6, 1, 0, 0, 0, 0, time.UTC)
		end := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
		// Steps that are not whole hours, with nanoseconds.
		for at := start; at.Before(end); at = at.Add(7*time.Hour + 13*time.Minute + 17*time.Second + 123456789) {
			check(&dc, at)
		}
		for at := end; at.After(start); at = at.Add(-(29*time.Hour + 31*time.Second + 987)) {
			check(&dc, at)
		}
	}
}
