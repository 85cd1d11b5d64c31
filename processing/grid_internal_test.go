package processing

import (
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
