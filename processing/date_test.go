package processing_test

import (
	"testing"
	"time"
	"unsafe"

	"github.com/meteragent/meteragent/processing"
)

// Day is 24 bytes and holds no pointer: long series stay compact and the
// collector never scans them.
func TestDaySize(t *testing.T) {
	if got := unsafe.Sizeof(processing.Day{}); got != 24 {
		t.Errorf("unsafe.Sizeof(Day) = %d, want 24", got)
	}
}

// A Date is the calendar day a time shows in its own zone, and In gives
// back that day's first instant in any zone, also where midnight is skipped.
func TestDate(t *testing.T) {
	if d := processing.DateOf(time.Date(1970, 1, 1, 23, 59, 0, 0, time.UTC)); d != 0 {
		t.Errorf("DateOf(1970-01-01 23:59 UTC) = %d, want 0", d)
	}
	if d := processing.DateOf(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)); d != -1 || d.String() != "1969-12-31" {
		t.Errorf("DateOf(1969-12-31) = %d (%s), want -1", d, d)
	}
	var zones []*time.Location
	for _, name := range []string{"UTC", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "Pacific/Apia"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Skip(err)
		}
		zones = append(zones, loc)
	}
	for _, loc := range zones {
		for t0 := time.Date(1899, 12, 25, 12, 0, 0, 0, loc); t0.Year() < 2040; t0 = t0.AddDate(0, 0, 7) {
			for k := range 3 {
				tt := t0.AddDate(0, 0, k)
				d := processing.DateOf(tt)
				y, m, dd := d.Civil()
				if wy, wm, wd := tt.Date(); y != wy || m != wm || dd != wd {
					t.Fatalf("%s: DateOf(%v).Civil() = %d-%d-%d", loc, tt, y, m, dd)
				}
				if got, want := d.String(), tt.Format(time.DateOnly); got != want {
					t.Fatalf("%s: DateOf(%v).String() = %s, want %s", loc, tt, got, want)
				}
				start := d.In(loc)
				if processing.DateOf(start) != d || start.Location() != loc {
					t.Fatalf("%s: %s.In = %v, not on its day", loc, d, start)
				}
				if before := start.Add(-time.Nanosecond); processing.DateOf(before) >= d {
					t.Fatalf("%s: %s.In = %v, not the day's first instant", loc, d, start)
				}
			}
		}
	}
}
