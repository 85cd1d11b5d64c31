package processing

import "errors"

// Errors returned by this package.
var (
	// ErrUnsupportedConversion is returned by Factor for a unit pair it cannot convert.
	ErrUnsupportedConversion = errors.New("unsupported unit conversion")
	// ErrNoLocation is returned when options lack a Location.
	ErrNoLocation = errors.New("no location")
	// ErrUnknownMeter is returned when a master or virtual meter names a meter the house lacks.
	ErrUnknownMeter = errors.New("unknown meter")
	// ErrCycle is returned when meters depend on each other in a cycle.
	ErrCycle = errors.New("meter dependency cycle")
)
