package processing

import "time"

// Meter describes one meter of a house, in processing's own terms (the config
// package's schema is mapped onto it by the caller).
type Meter struct {
	ID   string
	Kind Kind
	Unit Unit

	// Physical meters.
	Installed, Removed time.Time // days of use, local midnights; zero = unknown / still installed
	Pattern            *Pattern  // seasonal pattern, nil = none
	RegisterSize       float64   // register wraps at this value; 0 = never

	// Master meters.
	Periods []Period

	// Virtual meters: Base minus each of Subtract, on daily use.
	Base     string
	Subtract []Subtrahend
}

// Period is one stretch of a master meter's history.
type Period struct {
	Start, End  time.Time // first and last day (local midnights, inclusive); End zero = open
	Sum         bool      // sum all sources; false = single (exactly one source)
	Sources     []string
	SourceUnit  Unit // unit of the sources; converted to the master's Unit
	ApplyOffset bool // continue the register from the previous period
}

// Subtrahend is one meter subtracted by a virtual meter, with the unit
// conversion applied to its use first (From == To or empty means none).
type Subtrahend struct {
	ID       string
	From, To Unit
}

// House is every meter of an installation.
type House struct {
	Meters      []Meter
	Location    *time.Location
	GasKWhPerM3 float64 // energy_content × z_factor
}

// RunOptions are the per-run parameters of Process.
type RunOptions struct {
	From, To             time.Time // first and last local midnight to output (To = today)
	MaxExtrapolationDays int       // see DailyOptions
	MeasuredGap          time.Duration
	Anomaly              AnomalyOptions
	// Intensity, when set, returns the per-day intensity function for a
	// physical meter (nil = time-linear). It lets callers plug in profiles.
	Intensity func(m Meter, readings []Reading) func(day time.Time) float64
}

// Stats summarises one meter's result for people.
type Stats struct {
	Readings         int           // readings used
	FirstReading     time.Time     // zero if none
	LastReading      time.Time     // zero if none
	LongestGap       time.Duration // longest time between consecutive readings
	ExtrapolatedDays int
	InterpolatedDays int
	MeasuredDays     int
}

// MeterResult is everything computed for one meter.
type MeterResult struct {
	Meter     Meter
	Days      []Day
	Months    []Month
	Anomalies []Anomaly
	Events    []Event
	Stats     Stats
}

// Result holds every meter's result, physical meters first, then masters and
// virtual meters in dependency order.
type Result struct {
	Meters []MeterResult
}

// Process computes every meter of the house.
func Process(h House, readings map[string][]Reading, opt RunOptions) (Result, error) {
	panic("TODO")
}
