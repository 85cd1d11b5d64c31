package processing

import "time"

// DailyOptions control how BuildDaily turns readings into a daily series.
type DailyOptions struct {
	Location *time.Location // day boundaries are this zone's midnights (required)

	// From and To are the first and last local midnights the output may hold
	// (inclusive). To is usually today's midnight.
	From, To time.Time

	// Installed is the meter's first day of use (local midnight), zero when unknown.
	// Removed is its last day of use, zero while installed; the series then ends
	// at the midnight after Removed.
	Installed, Removed time.Time

	// Pattern, when set, shapes extrapolation beyond the readings (spec §2.6 [FIX]).
	Pattern *Pattern

	// Intensity, when set, gives the relative use of a local day (1 = average).
	// It shapes both the spreading of an interval's total over its days and
	// extrapolation. Nil means time-linear between readings.
	Intensity func(day time.Time) float64

	// MaxExtrapolationDays bounds extrapolation before the first and after the
	// last reading. Negative means unlimited, 0 means none.
	MaxExtrapolationDays int

	// RegisterSize is the value at which the register wraps to 0 (e.g. 100000
	// for a 5-digit dial). 0 means it never wraps.
	RegisterSize float64

	// MeasuredGap is the longest gap between readings across a midnight for
	// which that midnight still counts as measured. 0 means 3 hours.
	MeasuredGap time.Duration
}

// Series is a meter's daily series: one Day per local midnight, consecutive.
// The last Day's Consumption is NaN (the day's end is not covered).
type Series struct {
	Days   []Day
	Events []Event
}

// BuildDaily builds the daily series of one physical meter from its readings
// (any order; duplicates with equal values are tolerated).
func BuildDaily(readings []Reading, opt DailyOptions) (Series, error) {
	panic("TODO")
}
