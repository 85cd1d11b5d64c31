package main

import (
	"fmt"
	"time"

	"github.com/meteragent/meteragent/config"
	"github.com/meteragent/meteragent/processing"
)

// newHouse maps the configuration onto processing's view of the house. Dates
// become local midnights in loc; open-ended dates become the zero time.
func newHouse(cfg *config.Config, loc *time.Location) (processing.House, error) {
	h := processing.House{
		Location:    loc,
		GasKWhPerM3: cfg.Gas.KWhPerM3(),
		Meters:      make([]processing.Meter, 0, len(cfg.Meters)),
	}
	for i := range cfg.Meters {
		cm := &cfg.Meters[i]
		m, err := newMeter(cm, cfg, loc)
		if err != nil {
			return processing.House{}, fmt.Errorf("meter %s: %w", cm.ID, err)
		}
		h.Meters = append(h.Meters, m)
	}
	return h, nil
}

func newMeter(cm *config.Meter, cfg *config.Config, loc *time.Location) (processing.Meter, error) {
	kind, err := meterKind(string(cm.Type))
	if err != nil {
		return processing.Meter{}, err
	}
	unit, err := parseUnit(cm.OutputUnit, "output_unit")
	if err != nil {
		return processing.Meter{}, err
	}
	m := processing.Meter{
		ID:           cm.ID,
		Kind:         kind,
		Unit:         unit,
		Installed:    day(cm.InstallationDate, loc),
		Removed:      day(cm.DeinstallationDate, loc),
		RegisterSize: cm.RegisterSize,
		Base:         cm.BaseMeter,
	}
	if p, ok := cfg.Patterns[cm.ID]; ok {
		m.Pattern = newPattern(p.MonthlyPercentages)
	}
	for j, cp := range cm.Periods {
		su, err := parseUnit(cp.SourceUnit, fmt.Sprintf("periods[%d].source_unit", j))
		if err != nil {
			return processing.Meter{}, err
		}
		m.Periods = append(m.Periods, processing.Period{
			Start:       day(cp.StartDate, loc),
			End:         day(cp.EndDate, loc),
			Sum:         cp.CompositionType == "sum",
			Sources:     cp.SourceMeters,
			SourceUnit:  su,
			ApplyOffset: cp.ApplyOffset,
		})
	}
	for _, id := range cm.SubtractMeters {
		s := processing.Subtrahend{ID: id}
		if c, ok := cm.SubtractMeterConversions[id]; ok {
			if s.From, err = parseUnit(c.FromUnit, "subtract_meter_conversions."+id+".from_unit"); err != nil {
				return processing.Meter{}, err
			}
			if s.To, err = parseUnit(c.ToUnit, "subtract_meter_conversions."+id+".to_unit"); err != nil {
				return processing.Meter{}, err
			}
		}
		m.Subtract = append(m.Subtract, s)
	}
	return m, nil
}

func meterKind(t string) (processing.Kind, error) {
	switch t {
	case "physical":
		return processing.Physical, nil
	case "master":
		return processing.Master, nil
	case "virtual":
		return processing.Virtual, nil
	}
	return 0, fmt.Errorf("type %q: want physical, master or virtual", t)
}

// parseUnit parses a unit; an empty one stays empty (processing then uses
// the meter's own unit).
func parseUnit(s, field string) (processing.Unit, error) {
	if s == "" {
		return "", nil
	}
	u, err := processing.ParseUnit(s)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return u, nil
}

// day returns local midnight of d, or the zero time for an unset or
// open-ended (9999-12-31) date.
func day(d config.Date, loc *time.Location) time.Time {
	if d.IsZero() || d.Open() {
		return time.Time{}
	}
	return d.In(loc)
}

// newPattern turns monthly percentages into shares that sum to 1. The config
// has refused negative shares and a zero sum; a pattern it let through that
// carries no information anyway becomes nil.
func newPattern(pct [12]float64) *processing.Pattern {
	p, err := processing.NewPattern(pct)
	if err != nil {
		return nil
	}
	return &p
}

// meterKinds returns every meter's kind by id, for the readings reader.
func meterKinds(h processing.House) map[string]processing.Kind {
	k := make(map[string]processing.Kind, len(h.Meters))
	for _, m := range h.Meters {
		k[m.ID] = m.Kind
	}
	return k
}
