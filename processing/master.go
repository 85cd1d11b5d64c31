package processing

import (
	"fmt"
	"math"
	"time"
)

// worse returns the worse of two qualities; Unknown is the worst of all,
// although it sorts first.
func worse(a, b Quality) Quality {
	if a == QualityUnknown || b == QualityUnknown {
		return QualityUnknown
	}
	return max(a, b)
}

// dayIndex lays a daily series on the civil-day axis.
type dayIndex struct {
	first int
	n     int // civil days first..first+n-1
	days  []Day
	pos   []int32 // pos[n-first] = index into days, -1 when the series lacks the date; nil: days are consecutive from first
}

func newDayIndex(days []Day) dayIndex {
	if len(days) == 0 {
		return dayIndex{}
	}
	first := int(days[0].Date)
	if consecutiveDays(days, first) {
		// The usual case: days[i] is civil day first+i.
		return dayIndex{first: first, n: len(days), days: days}
	}
	last := int(days[len(days)-1].Date)
	for _, d := range days { // the contract says consecutive and sorted, but be safe
		n := int(d.Date)
		first, last = min(first, n), max(last, n)
	}
	ix := dayIndex{first: first, n: last - first + 1, days: days, pos: make([]int32, last-first+1)}
	for i := range ix.pos {
		ix.pos[i] = -1
	}
	for i, d := range days {
		ix.pos[int(d.Date)-first] = int32(i)
	}
	return ix
}

// at returns the Day of civil day n.
func (ix dayIndex) at(n int) (Day, bool) {
	i := n - ix.first
	if i < 0 || i >= ix.n {
		return Day{}, false
	}
	if ix.pos != nil {
		if i = int(ix.pos[i]); i < 0 {
			return Day{}, false
		}
	}
	return ix.days[i], true
}

// sourceAxis is one master source on the civil-day axis, in the master's
// unit, with holes inside its range filled from its own neighbours.
type sourceAxis struct {
	id    string
	first int // civil day of the first value
	n     int // number of days

	// A source without holes (the usual case) is read from its days.
	ix dayIndex
	f  float64 // unit factor

	// With holes: each day's values, filled.
	reg []float64 // register at each midnight, NaN outside any known value
	use []float64 // use of each day
	q   []Quality
}

func newSourceAxis(id string, days []Day, f float64) sourceAxis {
	ix := newDayIndex(days)
	s := sourceAxis{id: id, first: ix.first, n: ix.n, ix: ix, f: f}
	holes := false
	for i := 0; i < ix.n && !holes; i++ {
		d, ok := ix.at(ix.first + i)
		holes = !ok || math.IsNaN(d.Reading*f)
	}
	if !holes {
		return s
	}
	fs := make([]float64, 2*ix.n) // reg and use
	s.reg, s.use, s.q = fs[:ix.n:ix.n], fs[ix.n:], make([]Quality, ix.n)
	hole := make([]bool, ix.n)
	for i := range s.reg {
		s.reg[i], s.use[i] = math.NaN(), math.NaN()
		if d, ok := ix.at(ix.first + i); ok {
			s.reg[i] = d.Reading * f
			s.use[i] = d.Consumption * f
			s.q[i] = d.Quality
		}
		hole[i] = math.IsNaN(s.reg[i])
	}
	// Fill holes linearly between the source's own known registers: a source
	// that misses a midnight is never counted as 0 (the old "sum" spikes).
	prev := -1
	for i := range s.reg {
		if hole[i] {
			continue
		}
		if prev >= 0 && i-prev > 1 {
			for j := prev + 1; j < i; j++ {
				w := float64(j-prev) / float64(i-prev)
				s.reg[j] = s.reg[prev] + w*(s.reg[i]-s.reg[prev])
			}
		}
		prev = i
	}
	for i := 0; i+1 < len(s.reg); i++ {
		if (hole[i] || hole[i+1]) && !math.IsNaN(s.reg[i]) && !math.IsNaN(s.reg[i+1]) {
			s.use[i] = s.reg[i+1] - s.reg[i]
			s.q[i] = QualityInterpolated
		}
		if math.IsNaN(s.use[i]) {
			s.q[i] = QualityUnknown
		}
	}
	if n := len(s.q); n > 0 && math.IsNaN(s.use[n-1]) {
		s.q[n-1] = QualityUnknown
	}
	return s
}

func (s *sourceAxis) regAt(n int) float64 {
	i := n - s.first
	switch {
	case i < 0 || i >= s.n:
		return math.NaN()
	case s.reg != nil:
		return s.reg[i]
	}
	d, _ := s.ix.at(n)
	return d.Reading * s.f
}

func (s *sourceAxis) dayAt(n int) (float64, Quality) {
	i := n - s.first
	switch {
	case i < 0 || i >= s.n:
		return math.NaN(), QualityUnknown
	case s.reg != nil:
		return s.use[i], s.q[i]
	}
	d, _ := s.ix.at(n)
	u := d.Consumption * s.f
	if math.IsNaN(u) {
		return u, QualityUnknown
	}
	return u, d.Quality
}

func (s *sourceAxis) last() int { return s.first + s.n - 1 }

// masterPeriod is a Period on the civil-day axis.
type masterPeriod struct {
	Period
	start, end int // inclusive civil days; end = MaxInt for an open period
	src        []sourceAxis
	offset     float64
}

// raw is the sum of the period's sources' registers at midnight n, NaN when
// any source lacks it.
func (p *masterPeriod) raw(n int) float64 {
	var v float64
	for i := range p.src {
		v += p.src[i].regAt(n)
	}
	if len(p.src) == 0 {
		return math.NaN()
	}
	return v
}

func (p *masterPeriod) reg(n int) float64 { return p.raw(n) + p.offset }

func (p *masterPeriod) day(n int) (float64, Quality) {
	var v float64
	q := QualityMeasured
	for i := range p.src {
		u, uq := p.src[i].dayAt(n)
		v += u
		q = worse(q, uq)
	}
	if math.IsNaN(v) {
		return v, QualityUnknown
	}
	return v, q
}

// buildMaster composes a master meter's daily series from its sources' daily
// series (spec §3 with the W-8 fixes), period by period.
//
// Within a period the register at a midnight is the sum of the sources'
// registers converted to the master's unit, plus the period's offset; the use
// of a day is the sum of the sources' use of that day, so a source's reset
// (which BuildDaily already turned into correct use) does not become a
// negative day. The row at a period's first midnight carries the new
// period's register; the use of the day before is the old period's own.
//
// With ApplyOffset the offset is taken at one shared instant, the period's
// first midnight, where the previous period's last day ends:
// offset = previous register there − new sources' register there. No day's
// use is lost at a replacement. When either side lacks that midnight, the
// offset bridges from the previous period's last known register to the new
// sources' first known one and an EventOffset says so.
//
// judge(id, n) says whether source id's day n may be judged for anomalies;
// the returned mask says the same of the master's days.
func buildMaster(m Meter, sources map[string]*MeterResult, judge func(id string, n int) bool, loc *time.Location, gas float64) ([]Day, []bool, []Event, error) {
	periods := make([]masterPeriod, len(m.Periods))
	lo, hi := math.MaxInt, math.MinInt
	for k, p := range m.Periods {
		mp := masterPeriod{Period: p, start: dateOf(p.Start), end: math.MaxInt}
		if !p.End.IsZero() {
			mp.end = dateOf(p.End)
		}
		switch {
		case p.Start.IsZero():
			return nil, nil, nil, fmt.Errorf("%w: master %q: period %d has no start", ErrInvalidMeter, m.ID, k+1)
		case mp.end < mp.start:
			return nil, nil, nil, fmt.Errorf("%w: master %q: period %d ends before it starts", ErrInvalidMeter, m.ID, k+1)
		case k > 0 && mp.start <= periods[k-1].end:
			return nil, nil, nil, fmt.Errorf("%w: master %q: period %d starts before period %d ends", ErrInvalidMeter, m.ID, k+1, k)
		case len(p.Sources) == 0:
			return nil, nil, nil, fmt.Errorf("%w: master %q: period %d has no source", ErrInvalidMeter, m.ID, k+1)
		case !p.Sum && len(p.Sources) != 1:
			return nil, nil, nil, fmt.Errorf("%w: master %q: period %d is single but has %d sources (use sum)", ErrInvalidMeter, m.ID, k+1, len(p.Sources))
		}
		for _, id := range p.Sources {
			r := sources[id]
			if r == nil {
				return nil, nil, nil, fmt.Errorf("%w: master %q: period %d: source %q", ErrUnknownMeter, m.ID, k+1, id)
			}
			from := p.SourceUnit
			if from == "" {
				from = r.Meter.Unit
			}
			f, err := convertFactor(from, m.Unit, gas)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("master %q: period %d: source %q: %w", m.ID, k+1, id, err)
			}
			s := newSourceAxis(id, r.Days, f)
			mp.src = append(mp.src, s)
			if s.n > 0 {
				// Only the part of a source inside its period (plus the
				// closing midnight) spans the master.
				a, b := max(s.first, mp.start), s.last()
				if mp.end != math.MaxInt {
					b = min(b, mp.end+1)
				}
				if a <= b {
					lo, hi = min(lo, a), max(hi, b)
				}
			}
		}
		periods[k] = mp
	}
	var events []Event
	if lo > hi {
		events = append(events, Event{Kind: EventMissingSource,
			Message: fmt.Sprintf("master %s: no source has data in any period", m.ID)})
		return nil, nil, events, nil
	}

	for k := 1; k < len(periods); k++ {
		events = append(events, periods[k].setOffset(m.ID, &periods[k-1], lo, hi, loc)...)
	}

	days := make([]Day, 0, hi-lo+1)
	mask := make([]bool, 0, hi-lo+1)
	judged := func(p *masterPeriod, n int) bool {
		for i := range p.src {
			if !judge(p.src[i].id, n) {
				return false
			}
		}
		return true
	}
	k := 0
	for n := lo; n <= hi; n++ {
		for k < len(periods) && periods[k].end != math.MaxInt && periods[k].end+1 < n {
			k++
		}
		d := Day{Date: Date(n), Reading: math.NaN(), Consumption: math.NaN()}
		ok := false
		switch {
		case k < len(periods) && n >= periods[k].start && n <= periods[k].end:
			p := &periods[k]
			d.Reading = p.reg(n)
			d.Consumption, d.Quality = p.day(n)
			ok = judged(p, n)
		case k < len(periods) && n == periods[k].end+1 && n >= periods[k].start:
			// The closing midnight of a period: not followed by the next
			// period (a gap or the end), so it keeps this period's register.
			d.Reading = periods[k].reg(n)
			if k+1 < len(periods) && periods[k+1].start == n {
				d.Reading = periods[k+1].reg(n)
				d.Consumption, d.Quality = periods[k+1].day(n)
				ok = judged(&periods[k+1], n)
			}
		}
		if math.IsNaN(d.Consumption) {
			d.Quality = QualityUnknown
		}
		days = append(days, d)
		mask = append(mask, ok && !math.IsNaN(d.Consumption))
	}
	// The last row's use reaches past the series.
	days[len(days)-1].Consumption = math.NaN()
	days[len(days)-1].Quality = QualityUnknown
	mask[len(mask)-1] = false

	for k := range periods {
		events = append(events, periods[k].missing(m.ID, lo, hi, loc)...)
	}
	return days, mask, events, nil
}

// setOffset computes p's offset from the previous period prev.
func (p *masterPeriod) setOffset(id string, prev *masterPeriod, lo, hi int, loc *time.Location) []Event {
	at := midnight(p.start, loc).Format(time.DateOnly)
	// tOld: the previous period's last known register, at best at its closing
	// midnight; tNew: the new sources' first known register, at best at p.start.
	tOld, tNew := math.MinInt, math.MaxInt
	for n := min(prev.end+1, hi); n >= max(prev.start, lo); n-- {
		if !math.IsNaN(prev.reg(n)) {
			tOld = n
			break
		}
	}
	pEnd := hi
	if p.end != math.MaxInt {
		pEnd = min(pEnd, p.end+1)
	}
	for n := max(p.start, lo); n <= pEnd; n++ {
		if !math.IsNaN(p.raw(n)) {
			tNew = n
			break
		}
	}
	if !p.ApplyOffset {
		if tOld == p.start && tNew == p.start && p.raw(p.start) < prev.reg(p.start) {
			return []Event{{Time: midnight(p.start, loc), Kind: EventOffset, Message: fmt.Sprintf(
				"master %s: register drops from %s to %s at %s; the period does not continue from the previous one (apply offset?)",
				id, fmtNum(prev.reg(p.start)), fmtNum(p.raw(p.start)), at)}}
		}
		return nil
	}
	if tOld == math.MinInt || tNew == math.MaxInt {
		return []Event{{Time: midnight(p.start, loc), Kind: EventOffset, Message: fmt.Sprintf(
			"master %s: offset at %s not applied: the previous or the new period has no known register", id, at)}}
	}
	old, cur := prev.reg(tOld), p.raw(tNew)
	p.offset = old - cur
	var ev []Event
	if tOld != tNew {
		ev = append(ev, Event{Time: midnight(p.start, loc), Kind: EventOffset, Message: fmt.Sprintf(
			"master %s: offset at %s joins %s (%s) to %s (%s); use in between is not counted",
			id, at, midnight(tOld, loc).Format(time.DateOnly), fmtNum(old), midnight(tNew, loc).Format(time.DateOnly), fmtNum(cur))})
	}
	if p.offset < 0 {
		ev = append(ev, Event{Time: midnight(p.start, loc), Kind: EventOffset, Message: fmt.Sprintf(
			"master %s: negative offset %s at %s: the new sources read %s, more than the master's %s",
			id, fmtNum(p.offset), at, fmtNum(cur), fmtNum(old))})
	}
	return ev
}

// missing reports each source that lacks midnights of the period (within
// the master's span), once per source with the day count.
func (p *masterPeriod) missing(id string, lo, hi int, loc *time.Location) []Event {
	a, b := max(p.start, lo), hi
	if p.end != math.MaxInt {
		b = min(b, p.end)
	}
	var ev []Event
	for i := range p.src {
		s := &p.src[i]
		count, first := 0, 0
		for n := a; n <= b; n++ {
			if math.IsNaN(s.regAt(n)) {
				if count == 0 {
					first = n
				}
				count++
			}
		}
		if count > 0 {
			ev = append(ev, Event{Time: midnight(first, loc), Kind: EventMissingSource, Message: fmt.Sprintf(
				"master %s: source %s has no data on %d days from %s; those days of the master are unknown",
				id, s.id, count, midnight(first, loc).Format(time.DateOnly))})
		}
	}
	return ev
}
