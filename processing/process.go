package processing

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

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
	// Profiles, when set, learns every physical meter's Profile from its
	// readings (LearnProfile with these options; Location and Pattern are
	// the house's and the meter's). Its Intensity spreads use over days and
	// its Shape is what the profile anomaly method judges use against, so
	// each meter is learned once. Nil spreads time-linearly, and the anomaly
	// method learns a shape of its own.
	Profiles *ProfileOptions
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
//
// Physical meters are built with BuildDaily from their readings (a meter
// without readings gets an empty series and an EventNoData), then master and
// virtual meters in dependency order. Every meter then gets its Monthly
// aggregation (derived from its finished daily series, so daily and monthly
// always agree), its anomalies and its Stats.
//
// Result.Meters lists physical meters in house order, then masters and
// virtual meters in dependency order, ties kept in house order, so the
// output is deterministic.
//
// Errors name the meter: a missing Location (ErrNoLocation), duplicate IDs
// (ErrDuplicateMeter), a reference to a meter the house lacks
// (ErrUnknownMeter), a dependency cycle (ErrCycle), an invalid definition
// (ErrInvalidMeter), a unit pair that cannot be converted
// (ErrUnsupportedConversion) or an unknown anomaly method (ErrUnknownMethod).
func Process(h House, readings map[string][]Reading, opt RunOptions) (Result, error) {
	p, err := NewPlan(h, opt)
	if err != nil {
		return Result{}, err
	}
	for k := range p.Physical() {
		if err := p.ProcessPhysical(k, readings[p.PhysicalID(k)]); err != nil {
			return Result{}, err
		}
	}
	return p.Finish()
}

// Plan is Process in two phases, for callers that compute the physical
// meters concurrently: NewPlan checks the house, ProcessPhysical computes one
// physical meter from its own readings alone (calls for different meters
// may run at the same time), and Finish derives the master and virtual
// meters from them and returns what Process would. Finish in turn splits into
// Derive, DetectDerived (concurrent per derived meter) and Result.
type Plan struct {
	h     House
	opt   RunOptions
	order []int // house indices: physical meters, then derived in dependency order
	nPhys int   // the first nPhys of order are the physical meters
	res   []MeterResult
	masks []dayMask // by house index
	judge [][]bool  // derived meters' judged days, by dependency position
	feeds []bool    // by house index: a derived meter reads this physical meter

	// mids are the midnights of From..To and the day after, shared
	// read-only by every meter's series (nil without both).
	mids *midnightTable
}

// NewPlan validates the house and the options as Process does.
func NewPlan(h House, opt RunOptions) (*Plan, error) {
	if h.Location == nil {
		return nil, ErrNoLocation
	}
	if err := opt.Anomaly.Validate(); err != nil {
		return nil, err
	}
	pos := make(map[string]int, len(h.Meters))
	for i, m := range h.Meters {
		switch {
		case m.ID == "":
			return nil, fmt.Errorf("%w: meter %d has no id", ErrInvalidMeter, i+1)
		case m.Kind != Physical && m.Kind != Master && m.Kind != Virtual:
			return nil, fmt.Errorf("%w: meter %q has kind %d", ErrInvalidMeter, m.ID, m.Kind)
		}
		if _, dup := pos[m.ID]; dup {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateMeter, m.ID)
		}
		pos[m.ID] = i
	}
	order, err := dependencyOrder(h.Meters, pos)
	if err != nil {
		return nil, err
	}
	if opt.Profiles != nil {
		// Every physical meter learns with the same temperatures: their
		// degree days are computed here once, not per meter.
		po := opt.Profiles.withDegreeDays(h.Location)
		opt.Profiles = &po
	}
	p := &Plan{h: h, opt: opt, order: order, res: make([]MeterResult, len(h.Meters)), masks: make([]dayMask, len(h.Meters)),
		feeds: make([]bool, len(h.Meters))}
	for _, m := range h.Meters {
		if m.Kind == Physical {
			p.nPhys++
		} else {
			for _, id := range m.Inputs() {
				if i := pos[id]; h.Meters[i].Kind == Physical {
					p.feeds[i] = true
				}
			}
		}
	}
	if !opt.From.IsZero() && !opt.To.IsZero() {
		if first, last := dateOf(opt.From), dateOf(opt.To)+1; first <= last && last-first <= maxSharedDays {
			p.mids = newMidnightTable(first, last, h.Location)
		}
	}
	return p, nil
}

// maxSharedDays bounds the shared midnight table (a century): a wider
// From..To is left to each series.
const maxSharedDays = 36525

// Physical returns the number of physical meters.
func (p *Plan) Physical() int { return p.nPhys }

// PhysicalID returns the ID of the k-th physical meter (house order).
func (p *Plan) PhysicalID(k int) string { return p.h.Meters[p.order[k]].ID }

// FeedsDerived reports whether a master or virtual meter reads the k-th
// physical meter. Derive needs only those: the others may still be computed
// while it runs.
func (p *Plan) FeedsDerived(k int) bool { return p.feeds[p.order[k]] }

// ProcessPhysical computes the k-th physical meter from its readings. Calls
// for different k may run concurrently; each must happen once before Finish.
func (p *Plan) ProcessPhysical(k int, rs []Reading) error {
	i := p.order[k]
	r := &p.res[i]
	r.Meter = p.h.Meters[i]
	prof, err := buildPhysical(r, rs, p.h.Location, p.opt, p.mids)
	if err != nil {
		return err
	}
	values, mask := judgedValues(r.Days, usableReadings(r.Days, rs, p.h.Location), p.h.Location)
	if len(values) > 0 {
		values[0].src.prof = prof
	}
	r.Anomalies = detect(values, p.opt.Anomaly)
	prof.release() // nothing keeps it: its per-day arrays serve the next meter
	p.finishMeter(i, mask)
	return nil
}

// finishMeter adds what every meter gets once its days are known.
func (p *Plan) finishMeter(i int, mask []bool) {
	r := &p.res[i]
	r.Months = Monthly(r.Days, p.h.Location)
	countQualities(&r.Stats, r.Days)
	p.masks[i] = newDayMask(r.Days, mask)
}

// Finish computes the master and virtual meters and returns the result.
// It is Derive, DetectDerived for each derived meter, and Result.
func (p *Plan) Finish() (Result, error) {
	if err := p.Derive(); err != nil {
		return Result{}, err
	}
	for k := range p.Derived() {
		p.DetectDerived(k)
	}
	return p.Result(), nil
}

// Derive builds the daily series of the master and virtual meters from the
// physical ones, in dependency order. It needs the physical meters that
// FeedsDerived names computed, and reads no other: the rest may be computed
// concurrently. Their anomalies, the costly part, are left to DetectDerived,
// which depends on nothing but the meter's own days and so may run
// concurrently for different meters.
func (p *Plan) Derive() error {
	byID := make(map[string]*MeterResult, len(p.h.Meters))
	masks := make(map[string]dayMask, len(p.h.Meters))
	for _, i := range p.order[:p.nPhys] {
		if p.feeds[i] {
			byID[p.h.Meters[i].ID] = &p.res[i]
			masks[p.h.Meters[i].ID] = p.masks[i]
		}
	}
	p.judge = make([][]bool, len(p.order)-p.nPhys)
	for k, i := range p.order[p.nPhys:] {
		m := p.h.Meters[i]
		r := &p.res[i]
		r.Meter = m
		var (
			mask []bool
			err  error
		)
		// judge is asked day after day about the meter's few inputs: their
		// masks are looked up once, not by hashing the id every day.
		inputs := m.Inputs()
		inMasks := make([]dayMask, len(inputs))
		for j, id := range inputs {
			inMasks[j] = masks[id]
		}
		judge := func(id string, n int) bool {
			for j, in := range inputs {
				if in == id {
					return inMasks[j].at(n)
				}
			}
			return masks[id].at(n)
		}
		switch m.Kind {
		case Master:
			r.Days, mask, r.Events, err = buildMaster(m, byID, judge, p.h.Location, p.h.GasKWhPerM3)
		case Virtual:
			r.Days, mask, r.Events, err = buildVirtual(m, byID, judge, p.h.Location, p.h.GasKWhPerM3)
		}
		if err != nil {
			return err
		}
		p.judge[k] = mask
		p.finishMeter(i, mask)
		byID[m.ID] = r
		masks[m.ID] = p.masks[i]
	}
	return nil
}

// Derived returns the number of master and virtual meters.
func (p *Plan) Derived() int { return len(p.order) - p.nPhys }

// DetectDerived finds the anomalies of the k-th derived meter (dependency
// order). It must follow Derive; calls for different k may run
// concurrently.
func (p *Plan) DetectDerived(k int) {
	i := p.order[p.nPhys+k]
	p.res[i].Anomalies = detectMasked(p.res[i].Days, p.judge[k], p.h.Location, p.opt.Anomaly)
}

// Series returns the j-th meter of Result (physical meters in house order,
// then the derived ones in dependency order) once its days are computed,
// without its anomalies where DetectDerived may still be adding them. It
// may be called while other meters are computed.
func (p *Plan) Series(j int) MeterResult {
	r := &p.res[p.order[j]]
	out := MeterResult{Meter: r.Meter, Days: r.Days, Months: r.Months, Events: r.Events, Stats: r.Stats}
	if j < p.nPhys {
		out.Anomalies = r.Anomalies
	}
	return out
}

// Result returns every meter's result, once all are computed.
func (p *Plan) Result() Result {
	out := Result{Meters: make([]MeterResult, 0, len(p.order))}
	for _, i := range p.order {
		out.Meters = append(out.Meters, p.res[i])
	}
	return out
}

// buildPhysical fills r with the daily series of a physical meter, and
// returns its learned profile (nil without RunOptions.Profiles).
func buildPhysical(r *MeterResult, rs []Reading, loc *time.Location, opt RunOptions, mids *midnightTable) (*Profile, error) {
	m := r.Meter
	readingStats(&r.Stats, rs)
	if r.Stats.Readings == 0 {
		r.Events = []Event{{Time: opt.To, Kind: EventNoData, Message: fmt.Sprintf("meter %s has no readings", m.ID)}}
		return nil, nil
	}
	dopt := DailyOptions{
		Location:             loc,
		From:                 opt.From,
		To:                   opt.To,
		Installed:            m.Installed,
		Removed:              m.Removed,
		Pattern:              m.Pattern,
		MaxExtrapolationDays: opt.MaxExtrapolationDays,
		RegisterSize:         m.RegisterSize,
		MeasuredGap:          opt.MeasuredGap,
		midnights:            mids,
	}
	var prof *Profile
	if opt.Profiles != nil {
		po := *opt.Profiles
		po.Location, po.Pattern = loc, m.Pattern
		prof = LearnProfile(rs, po)
		if !prof.Linear() {
			dopt.Intensity, dopt.dayIntensity = prof.Intensity, prof.intensityDay
		}
	}
	s, err := BuildDaily(rs, dopt)
	if err != nil {
		return nil, fmt.Errorf("meter %q: %w", m.ID, err)
	}
	r.Days, r.Events = s.Days, s.Events
	return prof, nil
}

// readingStats counts the finite readings (one per instant) and the span and
// longest gap between them. Readings usually arrive sorted; only otherwise are their
// times copied and sorted.
func readingStats(st *Stats, rs []Reading) {
	var prev time.Time
	for _, r := range rs {
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			continue
		}
		if st.Readings > 0 && !r.Time.After(prev) {
			if r.Time.Equal(prev) {
				continue // a repeated instant is one reading
			}
			*st = Stats{}
			readingStatsUnsorted(st, rs)
			return
		}
		if st.Readings == 0 {
			st.FirstReading = r.Time
		} else {
			st.LongestGap = max(st.LongestGap, r.Time.Sub(prev))
		}
		st.Readings++
		st.LastReading, prev = r.Time, r.Time
	}
}

func readingStatsUnsorted(st *Stats, rs []Reading) {
	ts := make([]time.Time, 0, len(rs))
	for _, r := range rs {
		if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
			ts = append(ts, r.Time)
		}
	}
	slices.SortFunc(ts, time.Time.Compare)
	ts = slices.CompactFunc(ts, time.Time.Equal)
	st.Readings = len(ts)
	st.FirstReading, st.LastReading = ts[0], ts[len(ts)-1]
	for i := 1; i < len(ts); i++ {
		st.LongestGap = max(st.LongestGap, ts[i].Sub(ts[i-1]))
	}
}

// countQualities counts the days of known use by quality.
func countQualities(st *Stats, days []Day) {
	for _, d := range days {
		if math.IsNaN(d.Consumption) {
			continue
		}
		switch d.Quality {
		case QualityMeasured:
			st.MeasuredDays++
		case QualityInterpolated:
			st.InterpolatedDays++
		case QualityExtrapolated:
			st.ExtrapolatedDays++
		}
	}
}

// dayMask is a per-day flag on the civil-day axis.
type dayMask struct {
	first int
	ok    []bool
}

func newDayMask(days []Day, mask []bool) dayMask {
	if len(days) == 0 {
		return dayMask{}
	}
	dm := dayMask{first: int(days[0].Date)}
	if len(mask) >= len(days) && consecutiveDays(days, dm.first) {
		// The usual case: the flags are the mask as it is (it is not
		// modified later).
		dm.ok = mask[:len(days):len(days)]
		return dm
	}
	for i, d := range days {
		k := int(d.Date) - dm.first
		for len(dm.ok) <= k {
			dm.ok = append(dm.ok, false)
		}
		if k >= 0 && i < len(mask) {
			dm.ok[k] = mask[i]
		}
	}
	return dm
}

// consecutiveDays reports whether days are the civil days first, first+1, ….
func consecutiveDays(days []Day, first int) bool {
	for i, d := range days {
		if int(d.Date) != first+i {
			return false
		}
	}
	return true
}

func (m dayMask) at(n int) bool {
	k := n - m.first
	return k >= 0 && k < len(m.ok) && m.ok[k]
}

// dependencies lists the meters m is derived from, with their role.
func dependencies(m Meter) (ids, roles []string) {
	switch m.Kind {
	case Master:
		for k, p := range m.Periods {
			for range p.Sources {
				roles = append(roles, fmt.Sprintf("period %d source", k+1))
			}
		}
	case Virtual:
		if m.Base != "" {
			roles = append(roles, "base")
		}
		for range m.Subtract {
			roles = append(roles, "subtrahend")
		}
	}
	return m.Inputs(), roles
}

// Inputs returns the ids of the meters m is computed from: a master's
// period sources in period order, a virtual meter's base then its
// subtrahends. A physical meter has none.
func (m Meter) Inputs() []string {
	var ids []string
	switch m.Kind {
	case Master:
		for _, p := range m.Periods {
			ids = append(ids, p.Sources...)
		}
	case Virtual:
		if m.Base != "" {
			ids = append(ids, m.Base)
		}
		for _, s := range m.Subtract {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// dependencyOrder returns meter indices: physical meters in house order,
// then derived meters so that each comes after everything it uses, ties in
// house order.
func dependencyOrder(ms []Meter, pos map[string]int) ([]int, error) {
	order := make([]int, 0, len(ms))
	done := make([]bool, len(ms))
	deps := make([][]int, len(ms))
	var pending []int
	for i, m := range ms {
		ids, roles := dependencies(m)
		for j, id := range ids {
			d, ok := pos[id]
			if !ok {
				return nil, fmt.Errorf("%w: meter %q: %s %q", ErrUnknownMeter, m.ID, roles[j], id)
			}
			deps[i] = append(deps[i], d)
		}
		if m.Kind == Physical {
			order = append(order, i)
			done[i] = true
		} else {
			pending = append(pending, i)
		}
	}
	ready := func(i int) bool {
		for _, d := range deps[i] {
			if !done[d] {
				return false
			}
		}
		return true
	}
	for len(pending) > 0 {
		k := slices.IndexFunc(pending, ready)
		if k < 0 {
			return nil, cycleError(ms, deps, done, pending[0])
		}
		i := pending[k]
		order = append(order, i)
		done[i] = true
		pending = slices.Delete(pending, k, k+1)
	}
	return order, nil
}

// cycleError names the meters of a cycle reachable from start. Every pending
// meter has a pending dependency, so following them must revisit one.
func cycleError(ms []Meter, deps [][]int, done []bool, start int) error {
	seen := map[int]int{}
	var path []int
	for i := start; ; {
		if at, ok := seen[i]; ok {
			names := make([]string, 0, len(path)-at+1)
			for _, j := range path[at:] {
				names = append(names, ms[j].ID)
			}
			names = append(names, ms[i].ID)
			return fmt.Errorf("%w: %s", ErrCycle, strings.Join(names, " → "))
		}
		seen[i] = len(path)
		path = append(path, i)
		next := -1
		for _, d := range deps[i] {
			if !done[d] {
				next = d
				break
			}
		}
		if next < 0 { // cannot happen; keep the error meaningful anyway
			return fmt.Errorf("%w: at meter %q", ErrCycle, ms[start].ID)
		}
		i = next
	}
}
