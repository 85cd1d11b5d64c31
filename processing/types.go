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

// Day is one local calendar day of a meter's series.
type Day struct {
	Date        time.Time // local midnight that starts the day, in the series' location
	Reading     float64   // register at Date
	Consumption float64   // use during [Date, next local midnight); NaN when unknown
	Quality     Quality   // quality of Consumption
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
