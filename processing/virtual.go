package processing

import (
	"fmt"
	"math"
	"time"
)

// buildVirtual derives a virtual meter's daily series (spec §4 with the W-10
// fixes): for each day of the base, use = base use − Σ converted subtrahend
// use.
//
// A subtrahend without a known use on a day makes that day unknown (never
// counted as 0), reported once per subtrahend with the day count. Negative
// results are kept signed, so base = virtual + Σ subtrahends holds on every
// known day, and reported once with their count and sum. The register is
// cumulative: 0 at the first day, then the running sum of the known use
// (unknown days add nothing). Quality is the worst of the inputs'.
//
// judge(id, n) says whether meter id's day n may be judged for anomalies;
// the returned mask says the same of the virtual meter's days. loc is the
// zone of the days, in which events are dated.
func buildVirtual(m Meter, sources map[string]*MeterResult, judge func(id string, n int) bool, loc *time.Location, gas float64) ([]Day, []bool, []Event, error) {
	if m.Base == "" {
		return nil, nil, nil, fmt.Errorf("%w: virtual %q has no base meter", ErrInvalidMeter, m.ID)
	}
	base := sources[m.Base]
	if base == nil {
		return nil, nil, nil, fmt.Errorf("%w: virtual %q: base %q", ErrUnknownMeter, m.ID, m.Base)
	}
	type sub struct {
		id      string
		f       float64
		ix      dayIndex
		missing int
		first   Date
	}
	subs := make([]sub, len(m.Subtract))
	for i, s := range m.Subtract {
		r := sources[s.ID]
		if r == nil {
			return nil, nil, nil, fmt.Errorf("%w: virtual %q: subtrahend %q", ErrUnknownMeter, m.ID, s.ID)
		}
		f, err := convertFactor(s.From, s.To, gas)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("virtual %q: subtrahend %q: %w", m.ID, s.ID, err)
		}
		subs[i] = sub{id: s.ID, f: f, ix: newDayIndex(r.Days)}
	}

	days := make([]Day, len(base.Days))
	mask := make([]bool, len(base.Days))
	var (
		reg, negSum, scale float64
		negCount           int
		negFirst           Date
	)
	for i, b := range base.Days {
		d := Day{Date: b.Date, Reading: reg, Consumption: b.Consumption, Quality: b.Quality}
		if !math.IsNaN(d.Consumption) {
			n := int(b.Date)
			mask[i] = judge(m.Base, n)
			scale = math.Abs(b.Consumption)
			for j := range subs {
				s := &subs[j]
				sd, ok := s.ix.at(n)
				if !ok || math.IsNaN(sd.Consumption) {
					if s.missing == 0 {
						s.first = b.Date
					}
					s.missing++
					d.Consumption = math.NaN()
					continue
				}
				mask[i] = mask[i] && judge(s.id, n)
				u := sd.Consumption * s.f
				d.Consumption -= u
				scale += math.Abs(u)
				d.Quality = worse(d.Quality, sd.Quality)
			}
		}
		if math.IsNaN(d.Consumption) {
			d.Quality = QualityUnknown
			mask[i] = false
		} else {
			reg += d.Consumption
			// Ignore float residue such as 10−3−7 = −1e-15.
			if d.Consumption < -1e-9*max(scale, 1) {
				if negCount == 0 {
					negFirst = b.Date
				}
				negCount++
				negSum += d.Consumption
			}
		}
		days[i] = d
	}

	var events []Event
	for _, s := range subs {
		if s.missing > 0 {
			events = append(events, Event{Time: s.first.In(loc), Kind: EventMissingSource, Message: fmt.Sprintf(
				"virtual %s: subtrahend %s has no use on %d days from %s; those days are unknown",
				m.ID, s.id, s.missing, s.first)})
		}
	}
	if negCount > 0 {
		events = append(events, Event{Time: negFirst.In(loc), Kind: EventNegativeBalance, Message: fmt.Sprintf(
			"virtual %s: use is negative on %d days from %s, %s in total (the subtracted meters used more than the base)",
			m.ID, negCount, negFirst, fmtNum(negSum))})
	}
	return days, mask, events, nil
}
