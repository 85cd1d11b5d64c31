package processing

import (
	"fmt"
	"math"
	"strings"
)

// Unit is the unit of a meter's register.
type Unit string

// Units meteragent converts between.
const (
	Wh  Unit = "Wh"
	KWh Unit = "kWh"
	MWh Unit = "MWh"
	M3  Unit = "m³"
	L   Unit = "L"
)

// DefaultGasKWhPerM3 is the gas conversion factor the old pipeline shipped:
// energy content 11.504 kWh/m³ times z-factor 0.8885. Factor uses it when
// given 0.
const DefaultGasKWhPerM3 = 11.504 * 0.8885

// ParseUnit accepts the spellings users write (kWh, kwh, m3, m³, l, ...).
// Case does not matter, surrounding blanks are ignored. Anything else returns
// an error wrapping ErrUnknownUnit that quotes the input.
func ParseUnit(s string) (Unit, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "wh":
		return Wh, nil
	case "kwh":
		return KWh, nil
	case "mwh":
		return MWh, nil
	case "m³", "m3":
		return M3, nil
	case "l":
		return L, nil
	}
	return "", fmt.Errorf("%w %q (want Wh, kWh, MWh, m³, m3 or L)", ErrUnknownUnit, s)
}

// dimension groups units that convert by a fixed power of ten.
type dimension uint8

const (
	energy dimension = iota + 1
	volume
)

// base returns the unit's dimension and its size in the dimension's base
// unit (kWh for energy, m³ for volume).
func (u Unit) base() (dimension, float64, bool) {
	switch u {
	case Wh:
		return energy, 1e-3, true
	case KWh:
		return energy, 1, true
	case MWh:
		return energy, 1e3, true
	case M3:
		return volume, 1, true
	case L:
		return volume, 1e-3, true
	}
	return 0, 0, false
}

// Factor returns f so that a value in from times f is the value in to.
// gasKWhPerM3 is used for m³↔kWh (and m³↔Wh/MWh, L↔kWh …); 0 means
// DefaultGasKWhPerM3, and a negative, infinite or NaN factor makes a
// volume↔energy pair unsupported. Units must be the constants of this package
// (see ParseUnit). Unsupported pairs return ErrUnsupportedConversion: a value
// is never passed through unconverted.
func Factor(from, to Unit, gasKWhPerM3 float64) (float64, error) {
	fd, fs, ok1 := from.base()
	td, ts, ok2 := to.base()
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("%w: %q to %q", ErrUnsupportedConversion, from, to)
	}
	if fd == td {
		if from == to {
			return 1, nil
		}
		return fs / ts, nil
	}
	g := gasKWhPerM3
	if g == 0 {
		g = DefaultGasKWhPerM3
	}
	if !(g > 0) || math.IsInf(g, 0) {
		return 0, fmt.Errorf("%w: %q to %q needs a positive gas factor (got %v kWh/m³)", ErrUnsupportedConversion, from, to, gasKWhPerM3)
	}
	if fd == volume { // volume → energy
		return fs * g / ts, nil
	}
	return fs / g / ts, nil
}

// convertFactor is Factor for meter definitions, where an empty unit means
// "as declared elsewhere" and therefore no conversion.
func convertFactor(from, to Unit, gas float64) (float64, error) {
	if from == "" || to == "" || from == to {
		return 1, nil
	}
	return Factor(from, to, gas)
}
