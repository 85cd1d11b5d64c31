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

// dayClock.localDays and dateMidnight answer as the time package's calendar
// (Clock, Date, time.Date), bit for bit, in every kind of zone.
func TestDayClockLocalDaysAndDateMidnight(t *testing.T) {
	// The definition localDays implements, by the time package.
	localDays := func(a, b time.Time, loc *time.Location) float64 {
		a, b = a.In(loc), b.In(loc)
		wall := func(t time.Time) float64 {
			h, m, s := t.Clock()
			return float64(h*3600+m*60+s) + float64(t.Nanosecond())*1e-9
		}
		return float64(dateOf(b)-dateOf(a)) + (wall(b)-wall(a))/86400
	}
	for _, name := range []string{"UTC", "Europe/Berlin", "America/Santiago", "America/Havana", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Skipf("no zone data for %s: %v", name, err)
		}
		dc := dayClock{loc: loc}
		start := time.Date(1969, 6, 1, 0, 0, 0, 0, time.UTC)
		end := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
		prev := start
		for at := start; at.Before(end); at = at.Add(11*time.Hour + 7*time.Minute + 3*time.Second + 12345) {
			for _, from := range []time.Time{prev, at.Add(-40 * time.Minute), at.Add(-3 * 24 * time.Hour)} {
				got, want := dc.localDays(from, at), localDays(from, at, loc)
				if math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("%s: localDays(%v, %v) = %v, want %v", name, from, at, got, want)
				}
			}
			d := dc.day(at)
			y, m, dd := civilDate(d)
			if got, want := dc.dateMidnight(d), time.Date(y, m, dd, 0, 0, 0, 0, loc); got != want {
				t.Fatalf("%s: dateMidnight(%d) = %v, want %v", name, d, got, want)
			}
			prev = at
		}
	}
}
