package config

import "strings"

// Units that meteragent converts between, in the spelling Load stores. Every
// pair converts: energy to energy and volume to volume by powers of ten, and
// volume to energy through the gas factor (Gas.KWhPerM3).
const (
	UnitWh  = "Wh"
	UnitKWh = "kWh"
	UnitMWh = "MWh"
	UnitM3  = "m³"
	UnitL   = "L"
)

// canonicalUnit maps the spellings users write (case does not matter, "m3"
// for "m³") to one of the Unit* constants. The old pipeline passed values of
// an unknown unit through unconverted; meteragent rejects the unit instead.
func canonicalUnit(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "wh":
		return UnitWh, true
	case "kwh":
		return UnitKWh, true
	case "mwh":
		return UnitMWh, true
	case "m³", "m3":
		return UnitM3, true
	case "l":
		return UnitL, true
	}
	return "", false
}
