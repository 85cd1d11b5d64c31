package config

import (
	"fmt"
	"time"
)

// Date is a civil calendar date without a time of day or zone, as written in
// the configuration files ("2024-11-27"). The zero Date means "not given".
// Dates are comparable with == and ordered by Compare.
type Date struct {
	year  int
	month time.Month
	day   int
}

// openYear is the year the old pipeline used for "no end" ("9999-12-31").
const openYear = 9999

// openDate is the single representation of an open end.
var openDate = Date{openYear, time.December, 31}

// NewDate returns the date y-m-d, normalised like time.Date (so 2024-02-30
// becomes 2024-03-01). Every date in year 9999 is the open end (9999-12-31).
func NewDate(year int, month time.Month, day int) Date {
	t := time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
	if t.Year() == openYear {
		return openDate
	}
	return Date{t.Year(), t.Month(), t.Day()}
}

// ParseDate parses "YYYY-MM-DD". The old pipeline treated any date starting
// with 9999 as "no end", so every date in year 9999 parses as the open end
// 9999-12-31 (see Open).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) || t.Year() < 1 {
		return Date{}, fail(ErrInvalid, "invalid date %q (want YYYY-MM-DD)", s)
	}
	return NewDate(t.Year(), t.Month(), t.Day()), nil
}

// Year returns the year (0 for the zero Date).
func (d Date) Year() int { return d.year }

// Month returns the month (0 for the zero Date).
func (d Date) Month() time.Month { return d.month }

// Day returns the day of the month (0 for the zero Date).
func (d Date) Day() int { return d.day }

// IsZero reports whether the date was not given.
func (d Date) IsZero() bool { return d == Date{} }

// Open reports whether the date is the open end 9999-12-31 ("until further
// notice").
func (d Date) Open() bool { return d == openDate }

// In returns the local midnight that starts the date in loc (UTC when loc is
// nil). The zero Date gives the zero time.Time, so that a missing date never
// turns into a real instant by accident.
func (d Date) In(loc *time.Location) time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, loc)
}

// Compare returns -1, 0 or +1 when d is before, equal to or after e. The zero
// Date sorts before every real date.
func (d Date) Compare(e Date) int {
	switch {
	case d.year != e.year:
		return cmpInt(d.year, e.year)
	case d.month != e.month:
		return cmpInt(int(d.month), int(e.month))
	default:
		return cmpInt(d.day, e.day)
	}
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// String returns "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.year, int(d.month), d.day)
}

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
