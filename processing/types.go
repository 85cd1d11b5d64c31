package processing

import (
	"math"
	"time"
)

// Reading is one value of a meter's cumulative register at an instant.
type Reading struct {
	Time  time.Time
	Value float64
}

// Quality says how a day's use was obtained.
type Quality uint8

// Qualities, from best to worst. A day's quality is the worst of the qualities
// of the two instants (its midnights) that bound it.
const (
	QualityUnknown      Quality = iota // no data
	QualityMeasured                    // both bounds lie on or within MeasuredGap of real readings
	QualityInterpolated                // a bound lies between two readings further apart
	QualityExtrapolated                // a bound lies before the first or after the last reading
)

var qualityNames = [...]string{"unknown", "measured", "interpolated", "extrapolated"}

func (q Quality) String() string {
	if int(q) < len(qualityNames) {
		return qualityNames[q]
	}
	return "unknown"
}

// Date is a local calendar day, counted in days from 1970-01-01 in the
// proleptic Gregorian calendar. It has no zone: the instant it starts at is
// its midnight in the location of the series it belongs to (Date.In).
type Date int32

// DateOf returns the calendar day that t shows in its own location.
func DateOf(t time.Time) Date { return Date(dateOf(t)) }

// In returns the first instant of d in loc: its local midnight, or, where
// the clocks skip midnight, the transition that starts the day.
func (d Date) In(loc *time.Location) time.Time { return midnight(int(d), loc) }

// Civil returns d's year, month and day of month.
func (d Date) Civil() (year int, month time.Month, day int) { return civilFromDays(int(d)) }

// String formats d as 2006-01-02.
func (d Date) String() string {
	y, m, dd := d.Civil()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

// Day is one local calendar day of a meter's series. It holds no pointer and
// takes 24 bytes, so that long series are compact and the collector never
// scans them.
type Day struct {
	Date        Date    // local calendar day; it starts at Date.In(the series' location)
	Quality     Quality // quality of Consumption
	Reading     float64 // register at the day's first instant
	Consumption float64 // use during the day; NaN when unknown
}

// Month is one local calendar month, derived from the daily series.
type Month struct {
	Start       time.Time // local midnight of the month's first day
	Reading     float64   // register at Start (NaN when the series starts later)
	Consumption float64   // sum of the month's known daily use
	Days        int       // days of the month with known use
}

// EventKind names what an Event reports.
type EventKind string

// Event kinds.
const (
	EventRollover         EventKind = "rollover"          // register wrapped at its configured size
	EventReset            EventKind = "reset"             // register restarted (reset or replacement)
	EventTypo             EventKind = "typo"              // one reading off in both directions, ignored
	EventExtrapolationCut EventKind = "extrapolation_cut" // extrapolation stopped at the horizon
	EventNegativeBalance  EventKind = "negative_balance"  // virtual meter went below zero
	EventOffset           EventKind = "offset"            // implausible offset at a master period boundary
	EventMissingSource    EventKind = "missing_source"    // a source or subtrahend has no data for some days
	EventNoData           EventKind = "no_data"           // a meter has no readings at all
)

// Event is something found while processing that a user should know about.
type Event struct {
	Time    time.Time
	Kind    EventKind
	Message string
}

// Kind of meter.
type Kind uint8

// Meter kinds.
const (
	Physical Kind = iota + 1
	Master
	Virtual
)

func (k Kind) String() string {
	switch k {
	case Physical:
		return "physical"
	case Master:
		return "master"
	case Virtual:
		return "virtual"
	}
	return "unknown"
}

// Pattern holds the share of a year's use that falls in each month, January
// first. NewPattern normalises it so that the twelve shares sum to 1.
type Pattern [12]float64

// Unknown is the value of an unknown quantity.
var Unknown = math.NaN()

// MeterReading is a Reading of a named meter, as it travels from a source
// (MQTT, CSV, InfluxDB, Tibber) into storage.
type MeterReading struct {
	Meter string
	Time  time.Time
	Value float64
}
