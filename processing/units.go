package processing

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

// ParseUnit accepts the spellings users write (kWh, kwh, m3, m³, l, ...).
func ParseUnit(s string) (Unit, error) { panic("TODO") }

// Factor returns f so that a value in from times f is the value in to.
// gasKWhPerM3 is used for m³↔kWh (and m³↔Wh/MWh, L↔kWh …). Unsupported pairs
// return ErrUnsupportedConversion.
func Factor(from, to Unit, gasKWhPerM3 float64) (float64, error) { panic("TODO") }
