package processing

import "errors"

// Errors returned by this package.
var (
	// ErrUnsupportedConversion is returned by Factor (and by Process for a
	// master period or virtual subtrahend) for a unit pair it cannot convert.
	ErrUnsupportedConversion = errors.New("unsupported unit conversion")
	// ErrUnknownUnit is returned by ParseUnit for a spelling it does not know.
	ErrUnknownUnit = errors.New("unknown unit")
	// ErrNoLocation is returned when options lack a Location.
	ErrNoLocation = errors.New("no location")
	// ErrUnknownMeter is returned when a master or virtual meter names a meter the house lacks.
	ErrUnknownMeter = errors.New("unknown meter")
	// ErrCycle is returned when meters depend on each other in a cycle.
	ErrCycle = errors.New("meter dependency cycle")
	// ErrDuplicateMeter is returned by Process when two meters share an ID.
	ErrDuplicateMeter = errors.New("duplicate meter id")
	// ErrInvalidMeter is returned by Process for a meter whose definition
	// cannot be computed: an unknown kind, a master without periods, periods
	// out of order or overlapping, a single period without exactly one
	// source, a virtual meter without a base.
	ErrInvalidMeter = errors.New("invalid meter")
	// ErrUnknownMethod is returned by Process for an AnomalyOptions.Method it
	// does not implement.
	ErrUnknownMethod = errors.New("unknown anomaly method")
)
