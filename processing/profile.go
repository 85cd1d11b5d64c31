package processing

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"
)

// ProfileOptions control LearnProfile.
type ProfileOptions struct {
	Location *time.Location // day boundaries (required; nil means UTC)

	// Pattern is the meter's configured seasonal pattern (nil = none). It is
	// a candidate shape only while the readings span less than a year; after
	// that the meter's own seasonal curve is learned instead.
	Pattern *Pattern

	// Temperatures is an optional outdoor temperature series in °C at any
	// resolution. When set, heating degree days below BaseTemperature are a
	// candidate shape.
	Temperatures    []Reading
	BaseTemperature float64 // 0 means 15.5 °C

	// Switches that remove a component from the candidates, for measurement.
	NoSmooth, NoWeekday, NoSeasonal, NoTemperature bool

	degreeDays *degreeDays // Temperatures' degree days, when computed once for many meters
}

// Profile is a learned per-day intensity: the relative use of each local day
// (1 = the average day within the readings' span).
type Profile struct {
	// Method names the chosen components joined by "+" ("smooth", "weekday",
	// "seasonal", "pattern", "hdd"), or "linear" when nothing beat
	// time-linear spreading in cross-validation.
	Method string
	// Weekday holds the weekday factors indexed by time.Weekday (all 1 when
	// weekday structure was not used).
	Weekday [7]float64
	// CVError and CVLinear are the cross-validated absolute register errors
	// (sum over held-out readings) of the chosen method and of time-linear
	// spreading; both 0 when there were too few readings to cross-validate.
	CVError, CVLinear float64

	loc    *time.Location
	fit    *profileFit // nil for linear
	shape  *profileFit // best fit without a smooth level; nil: flat
	linear bool
}

// Intensity returns the relative use of the local day that starts at day
// (any instant within the day selects that day). Linear profiles return 1.
func (p *Profile) Intensity(day time.Time) float64 {
	if p == nil || p.linear || p.fit == nil {
		return 1
	}
	return p.fit.intensity(dayIn(day, p.loc))
}

// Shape returns the relative use of the local day that the profile's
// structure alone expects (weekday, season, degree days: the best candidate
// without a smooth level through the readings, chosen by the same
// cross-validation; 1 when none beat time-linear spreading). Anomalies are
// judged against it rather than against Intensity: a smooth level follows
// every reading, anomalies included.
func (p *Profile) Shape(day time.Time) float64 {
	if p == nil || p.shape == nil {
		return 1
	}
	return p.shape.intensity(dayIn(day, p.loc))
}

// shapeDay is Shape of civil day dn.
func (p *Profile) shapeDay(dn int) float64 {
	if p == nil || p.shape == nil {
		return 1
	}
	return p.shape.intensity(dn)
}

// intensityDay is Intensity of civil day dn.
func (p *Profile) intensityDay(dn int) float64 {
	if p == nil || p.linear || p.fit == nil {
		return 1
	}
	return p.fit.intensity(dn)
}

// dayValuesPool recycles the per-day intensities of profiles that are
// released (see release): every meter of a house learns a profile over
// thousands of days, uses it for its series and its anomalies, and drops it.
var dayValuesPool = sync.Pool{New: func() any { return new([]float64) }}

// newDayValues returns a slice of n float64s to be overwritten, its array
// from dayValuesPool when one is there.
func newDayValues(n int) []float64 {
	return grow(dayValuesPool.Get().(*[]float64), n)
}

// release gives the profile's per-day intensities back to dayValuesPool,
// for a caller that is done with it: the profile must not be used
// afterwards (its intensities would index nil). A nil profile is fine.
func (p *Profile) release() {
	if p == nil {
		return
	}
	for _, f := range [2]*profileFit{p.fit, p.shape} {
		if f != nil && f.day != nil {
			day := f.day
			f.day = nil // also when fit and shape are the same
			dayValuesPool.Put(&day)
		}
	}
}

// Linear reports whether the profile is plain time-linear spreading.
func (p *Profile) Linear() bool { return p == nil || p.linear }

// LearnIntensity learns a Profile from a meter's readings and returns its
// Intensity, or nil when time-linear spreading is at least as good (nil makes
// BuildDaily spread linearly).
func LearnIntensity(readings []Reading, opt ProfileOptions) func(day time.Time) float64 {
	p := LearnProfile(readings, opt)
	if p.Linear() {
		return nil
	}
	return p.Intensity
}

// Learning thresholds.
const (
	minCVReadings   = 6    // fewer readings cannot be cross-validated
	minSeasonalDays = 365  // own seasonal curve needs a year of readings
	cvMargin        = 0.03 // a shape must beat linear by 3 % in CV to be used…
	cvMinT          = 2.0  // …with a paired t statistic of the gain of at least this
	// intensityFloor keeps every day's intensity positive. Floors like it
	// are applied with the builtin max, which the compiler inlines, rather
	// than math.Max, an assembly call on amd64: when one argument is
	// finite (a constant, a reading's day position) both give the same
	// result; they differ only for +Inf against NaN.
	intensityFloor  = 1e-3
	weekendF        = 16.0 // F statistic (1 dof) the weekend ratio must reach
	thinGap         = 20.0 // hours; denser readings are thinned before learning
	harmonics       = 2    // annual Fourier harmonics of the seasonal curve
	defaultBaseTemp = 15.5 // °C, the UK degree-day base
	yearDays        = 365.2425
)

// Smoothers of the level through the register.
const (
	smoothNone   = iota // level constant between readings (in structural time)
	smoothPCHIP         // monotone cubic: never overshoots, flattens at extremes
	smoothSpline        // C² cubic spline: smoother rate, may overshoot near zero use
)

type shapeConfig struct {
	smooth                 int
	weekday, seasonal, hdd bool
}

func (c shapeConfig) name(pattern bool) string {
	var parts []string
	switch c.smooth {
	case smoothPCHIP:
		parts = append(parts, "pchip")
	case smoothSpline:
		parts = append(parts, "spline")
	}
	if c.weekday {
		parts = append(parts, "weekday")
	}
	if c.seasonal {
		if pattern {
			parts = append(parts, "pattern")
		} else {
			parts = append(parts, "seasonal")
		}
	}
	if c.hdd {
		parts = append(parts, "hdd")
	}
	if len(parts) == 0 {
		return "linear"
	}
	return strings.Join(parts, "+")
}

// LearnProfile learns how a meter's use is spread over days from its readings
// alone. Every candidate shape (a smooth level through the register, weekday
// factors, an annual curve or the configured pattern, heating degree days) is
// scored by predicting held-out readings from their neighbours exactly as
// BuildDaily would spread the interval's total; the best one is kept only if
// it beats time-linear spreading. Decreasing readings (resets, rollovers)
// break the register into pieces whose intervals carry no information.
func LearnProfile(readings []Reading, opt ProfileOptions) *Profile {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	linear := &Profile{Method: "linear", Weekday: ones7(), loc: loc, linear: true}
	sc := profScratchPool.Get().(*profScratch)
	pts := profilePoints(readings, loc, sc)
	if len(pts) < 2 {
		profScratchPool.Put(sc)
		return linear
	}
	l := newProfLearner(pts, loc, opt, sc)
	defer l.release()
	spanDays := pts[len(pts)-1].t - pts[0].t
	canSeason := !opt.NoSeasonal && (spanDays >= minSeasonalDays || opt.Pattern != nil)
	canHDD := !opt.NoTemperature && l.hddDay != nil

	if len(pts) < minCVReadings {
		// Too few readings to check anything: trust the configured pattern
		// if there is one, as the old pipeline did for extrapolation.
		if opt.Pattern == nil || opt.NoSeasonal {
			return linear
		}
		cfg := shapeConfig{seasonal: true}
		f := l.fitShape(cfg)
		return &Profile{Method: cfg.name(true), Weekday: ones7(), loc: loc, fit: f, shape: f}
	}

	// Weekday factors are learned once from every interval and kept only if
	// significant: held-out register errors barely see a weekly shape (its
	// errors cancel within a week), so cross-validation cannot judge it.
	useWeekday := false
	if !opt.NoWeekday {
		useWeekday = l.learnWeekday()
	}
	var cands []shapeConfig
	for _, smooth := range []int{smoothNone, smoothPCHIP, smoothSpline} {
		if smooth != smoothNone && opt.NoSmooth {
			continue
		}
		for _, extra := range []int{0, 1, 2} { // none, seasonal, hdd
			if (extra == 1 && !canSeason) || (extra == 2 && !canHDD) {
				continue
			}
			c := shapeConfig{smooth: smooth, weekday: useWeekday, seasonal: extra == 1, hdd: extra == 2}
			if c != (shapeConfig{}) {
				cands = append(cands, c)
			}
		}
	}
	errs := l.cvErrors(append([]shapeConfig{{}}, cands...))
	linErrs, errs := errs[0], errs[1:]
	linErr := sum(linErrs)
	// The best candidate, and the best without a smooth level: the shape
	// that anomalies are judged against (see Shape).
	best, shape := -1, -1
	bestErr, shapeErr := linErr, linErr
	for i, c := range cands {
		e := sum(errs[i])
		if e < bestErr {
			best, bestErr = i, e
		}
		if c.smooth == smoothNone && e < shapeErr {
			shape, shapeErr = i, e
		}
	}
	beats := func(i int, e float64) bool {
		return i >= 0 && e <= linErr*(1-cvMargin) && pairedT(linErrs, errs[i]) >= cvMinT
	}
	var shapeFit *profileFit
	if beats(shape, shapeErr) {
		shapeFit = l.fitShape(cands[shape])
	}
	if !beats(best, bestErr) {
		linear.CVError, linear.CVLinear = linErr, linErr
		linear.shape = shapeFit
		return linear
	}
	f := shapeFit
	if best != shape {
		f = l.fitShape(cands[best])
	}
	return &Profile{
		Method: cands[best].name(spanDays < minSeasonalDays), Weekday: f.weekday, loc: loc, fit: f,
		CVError: bestErr, CVLinear: linErr, shape: shapeFit,
	}
}

func ones7() [7]float64 { return [7]float64{1, 1, 1, 1, 1, 1, 1} }

// profPoint is a reading on the day axis: t is the local day number plus the
// fraction of that day elapsed; c is the register made continuous.
type profPoint struct {
	t     float64
	c     float64
	known bool // the interval ending at this profPoint has a trustworthy total
}

// profDayPos returns the civil day number (days since 1970-01-01 of the local
// date) and the fraction of that local day elapsed at t.
func profDayPos(t time.Time, loc *time.Location) (int, float64) {
	lt := t.In(loc)
	y, m, d := lt.Date()
	dn := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	end := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	frac := float64(lt.Sub(start)) / float64(end.Sub(start))
	return dn, min(max(frac, 0), 1)
}

// dayPos is profDayPos(t, c.loc) for many instants: away from a change of
// offset the local day around t starts and ends at whole days of local time,
// found without the time package's calendar and zone lookups (which
// profDayPos makes three of); near one it asks profDayPos.
func (c *dayClock) dayPos(t time.Time) (int, float64) {
	dn := c.day(t)
	// Both midnights that profDayPos asks time.Date for, and the instants
	// time.Date looks their offset up at (within a day of them), lie in
	// the zone period of t: they are whole days from it.
	start := int64(dn)*secondsPerDay - c.off
	if start-secondsPerDay < c.lo || start+2*secondsPerDay > c.hi {
		return profDayPos(t, c.loc)
	}
	// t.Sub(start) and the day's length, as time.Duration counts them.
	frac := float64((t.Unix()-start)*int64(time.Second)+int64(t.Nanosecond())) / float64(secondsPerDay*time.Second)
	return dn, min(max(frac, 0), 1)
}

// profilePoints sorts, drops non-finite values and duplicate instants, and
// thins readings closer than thinGap (the first and last are always kept).
// The register is made continuous by summing only its increases; an interval
// in which it decreased (reset, rollover, typo) is marked unknown. Readings
// that need none of that cleaning (the usual case) are not copied.
func profilePoints(readings []Reading, loc *time.Location, sc *profScratch) []profPoint {
	rs := readings
	if !finiteSorted(readings) {
		rs = make([]Reading, 0, len(readings))
		for _, r := range readings {
			if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
				rs = append(rs, r)
			}
		}
		if !sort.SliceIsSorted(rs, func(i, j int) bool { return rs[i].Time.Before(rs[j].Time) }) {
			sort.SliceStable(rs, func(i, j int) bool { return rs[i].Time.Before(rs[j].Time) })
		}
		// A typo (one reading off in both directions) is left out as
		// BuildDaily leaves it out: its jump and the way back would count
		// as use.
		rs = dropTypoReadings(rs)
	} else if hasTypo(rs) {
		rs = dropTypoReadings(slices.Clone(rs)) // it works in place
	}
	if len(rs) == 0 {
		return nil
	}
	gap := time.Duration(thinGap * float64(time.Hour))
	keep := append(sc.keep[:0], 0)
	// A reading is kept when it is at least gap after the last kept one:
	// not before next, an instant computed once per kept reading instead
	// of a time.Time.Sub per reading (the same test: Sub saturates where
	// the instants are centuries apart, and so does the order).
	next := rs[0].Time.Add(gap)
	for i := 1; i < len(rs); i++ {
		if !rs[i].Time.Before(next) {
			keep = append(keep, i)
			next = rs[i].Time.Add(gap)
		}
	}
	if last := len(rs) - 1; keep[len(keep)-1] != last && rs[last].Time.After(rs[0].Time) {
		if len(keep) > 1 {
			keep[len(keep)-1] = last
		} else {
			keep = append(keep, last)
		}
	}
	sc.keep = keep
	pts := grow(&sc.pts, len(keep))
	c := 0.0
	dc := dayClock{loc: loc}
	for k, i := range keep {
		dn, frac := dc.dayPos(rs[i].Time)
		pts[k] = profPoint{t: float64(dn) + frac, known: true}
		if k > 0 {
			for j := keep[k-1] + 1; j <= i; j++ {
				if d := rs[j].Value - rs[j-1].Value; d >= 0 {
					c += d
				} else {
					pts[k].known = false
				}
			}
		}
		pts[k].c = c
	}
	return pts
}

// finiteSorted reports whether rs are all finite and sorted by time.
func finiteSorted(rs []Reading) bool {
	for i, r := range rs {
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || (i > 0 && r.Time.Before(rs[i-1].Time)) {
			return false
		}
	}
	return true
}

// dropTypoReadings is dropTypos without events, in place.
func dropTypoReadings(rs []Reading) []Reading {
	if len(rs) < 3 {
		return rs
	}
	out := rs[:1]
	for i := 1; i < len(rs)-1; i++ {
		if !isTypo(out[len(out)-1].Value, rs[i].Value, rs[i+1].Value) {
			out = append(out, rs[i])
		}
	}
	return append(out, rs[len(rs)-1])
}

// profLearner holds the per-day calendar of the readings' span and the inputs
// shared by every candidate fit, and scratch buffers that the folds and
// candidates reuse (a learner is used by one goroutine).
type profLearner struct {
	pts     []profPoint // in scratch
	loc     *time.Location
	pattern *Pattern
	d0, n   int          // first day number and number of days of the span
	cal     []calDay     // the calendar per day
	tab     *seasonBasis // seasonTab()
	weekday [7]float64   // learned weekday factors (ones when not significant)
	hddDay  []float64    // heating degree days per day (NaN unknown); nil without temperatures

	// basisAt[j][k] integrates the annual Fourier basis function k from the
	// span's start to l.pts[j].t. It depends only on the calendar, so every
	// candidate and fold shares it (fitSeason fills it on first use).
	basisAt [][2*harmonics + 1]float64
	// hddPrefix and knownPrefix are the prefix sums of the known degree days
	// and of the days that know them (fitHDD fills them on first use).
	hddPrefix, knownPrefix []float64

	scratch *profScratch // from profScratchPool until release
}

// release returns what only learning needs to the pool: a Profile keeps its
// learner (for the span, pattern and degree days).
func (l *profLearner) release() {
	l.pts, l.cal, l.basisAt, l.hddPrefix, l.knownPrefix = nil, nil, nil, nil, nil
	profScratchPool.Put(l.scratch)
	l.scratch = nil
}

// calDay is one span day of the calendar, compact: a span of years has
// thousands of days, and every learner touches them all.
type calDay struct {
	wd, month, mdays uint8  // weekday, month 0..11, days in the month
	leap             uint8  // the day's year is a leap year: seasonTab index
	yday             uint16 // day of the year from 0
}

// basis is the annual Fourier basis at the middle of span day i.
func (l *profLearner) basis(i int) *[2*harmonics + 1]float64 {
	c := l.cal[i]
	return &l.tab[c.leap][c.yday]
}

// profScratch holds buffers that are reused from one fit, fold or candidate
// to the next, and from one LearnProfile to the next (profScratchPool),
// instead of allocated anew; each user resizes one with grow and overwrites
// what it reads. Nothing in it outlives the LearnProfile that got it.
type profScratch struct {
	pts                []profPoint
	keep               []int // profilePoints' kept readings
	cal                []calDay
	basisAt            [][2*harmonics + 1]float64
	hddPrefix, known   []float64
	kept               []profPoint
	idx, held          []int
	rows, ys           []float64        // regression rows (flat) and targets
	x, y, d            []float64        // knots and slopes of a smooth level
	h, del, a, b, c, r []float64        // slope solvers' work
	base, prefix       []float64        // per-day shape and its prefix sums
	seasonDay          [2 * 366]float64 // spanBase's learned season by leap and day of the year…
	seasonSeen         [2 * 366]bool    // …where computed
	shapes             [][]float64      // cvErrors' structural prefix sums
	errs               []float64
	ivs                []weekIv
	triples            []weekTriple
	ones, frac         []int // learnWeekday's intervals wholly and partly in the weekend
	rates, gv          []float64
	smooth             smoothCum // newSmoothCum's
}

// profScratchPool recycles scratch between LearnProfile calls: a house
// learns dozens of profiles, and fresh memory costs more than the work.
var profScratchPool = sync.Pool{New: func() any { return new(profScratch) }}

// grow returns *buf resliced to length n, reallocating only when it is too
// short; its contents are left as they were. A new array has room for 2n
// (scratchRoom): the meters of a house differ in span, and a later one up
// to twice as long then reuses the array instead of allocating another.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n, scratchRoom*n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// scratchRoom is how many times the length asked for a pooled buffer gets
// as capacity when it is allocated. Memory the process has not used before
// is touched (and paid for in page faults) only where it is written, so
// room that no meter needs costs address space, not time (memory the
// runtime reuses is cleared, which is cheap). On the demo house, 2 saves
// about 100 of 1,100 page faults of the process phase.
const scratchRoom = 2

// seasonBasis is seasonTab's table.
type seasonBasis = [2][366][2*harmonics + 1]float64

// seasonTab()[leap][d] is the annual Fourier basis (1, cos, sin per harmonic)
// at the middle of day d (from 0) of a year of 365+leap days, as seasonAt
// evaluates it: looked up instead of computed for every day of a span. It is
// built on first use, not at start-up of every command that links processing.
var seasonTab = sync.OnceValue(func() *seasonBasis {
	var t seasonBasis
	for leap := range 2 {
		ylen := 365.0 + float64(leap)
		for d := range int(ylen) {
			doy := (float64(d+1) - 0.5) / ylen
			t[leap][d][0] = 1
			for h := 1; h <= harmonics; h++ {
				a := 2 * math.Pi * float64(h) * doy
				t[leap][d][2*h-1], t[leap][d][2*h] = math.Cos(a), math.Sin(a)
			}
		}
	}
	return &t
})

// pointBasis returns basisAt, computing it on first use: one sweep over the
// span's days keeps the running sums of the basis (the prefix sums, added in
// day order) and integrates up to each reading on the way, the last day
// partially (uniform within a day); positions outside the span are clamped.
func (l *profLearner) pointBasis() [][2*harmonics + 1]float64 {
	if l.basisAt != nil {
		return l.basisAt
	}
	const nb = 2*harmonics + 1
	l.basisAt = grow(&l.scratch.basisAt, len(l.pts))
	var acc [nb]float64 // the prefix sums over days [0, i)
	i := 0
	for j, p := range l.pts {
		x := p.t - float64(l.d0)
		di := int(math.Floor(x))
		if di < 0 {
			l.basisAt[j] = [nb]float64{}
			continue
		}
		// The sums in variables, not in acc's memory (see spanBase).
		a0, a1, a2, a3, a4 := acc[0], acc[1], acc[2], acc[3], acc[4]
		for ; i < di && i < l.n; i++ {
			b := l.basis(i)
			a0, a1, a2, a3, a4 = a0+b[0], a1+b[1], a2+b[2], a3+b[3], a4+b[4]
		}
		acc = [nb]float64{a0, a1, a2, a3, a4}
		if di >= l.n {
			l.basisAt[j] = acc
			continue
		}
		b := l.basis(di)
		for k := range nb {
			l.basisAt[j][k] = acc[k] + b[k]*(x-float64(di))
		}
	}
	return l.basisAt
}

func newProfLearner(pts []profPoint, loc *time.Location, opt ProfileOptions, sc *profScratch) *profLearner {
	d0 := int(math.Floor(pts[0].t))
	d1 := int(math.Floor(pts[len(pts)-1].t))
	l := &profLearner{pts: pts, loc: loc, pattern: opt.Pattern, d0: d0, n: d1 - d0 + 1, weekday: ones7(), tab: seasonTab(), scratch: sc}
	l.cal = grow(&sc.cal, l.n)
	// The calendar is stepped day by day from the first day's date instead
	// of asking the time package for every day of a span of years.
	// What changes only with the month or year is updated only then.
	y, m, d := civilDate(d0)
	wd, _, _, _ := civilCalendar(d0)
	yday := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).YearDay()
	mdays, lp := daysInMonth(y, m), leap(y)
	for i := range l.cal {
		// Field by field: a calDay literal is assembled on the stack and
		// copied with wider loads than its byte stores, which stalls.
		c := &l.cal[i]
		c.wd, c.month, c.mdays, c.leap, c.yday = uint8(wd), uint8(m-1), uint8(mdays), uint8(lp), uint16(yday-1)
		if wd++; wd == 7 {
			wd = 0
		}
		yday++
		if d++; d > mdays {
			d, m = 1, m+1
			if m > time.December {
				y, m, yday = y+1, time.January, 1
				lp = leap(y)
			}
			mdays = daysInMonth(y, m)
		}
	}
	if len(opt.Temperatures) > 0 && !opt.NoTemperature {
		base := opt.baseTemperature()
		if dd := opt.degreeDays; dd.serves(opt.Temperatures, loc, base) {
			l.hddDay = dd.days(d0, l.n)
		} else {
			l.hddDay = dailyHDD(opt.Temperatures, loc, d0, l.n, base)
		}
	}
	return l
}

func civilCalendar(dn int) (wd int, doy float64, month int, mdays float64) {
	t := time.Unix(int64(dn)*86400, 0).UTC()
	y, m, _ := t.Date()
	mdays = float64(time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day())
	ylen := 365.0
	if time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC).YearDay() == 366 {
		ylen = 366
	}
	return int(t.Weekday()), (float64(t.YearDay()) - 0.5) / ylen, int(m) - 1, mdays
}

// dailyHDD averages the linearly interpolated temperature over 24 hourly
// samples of each local day; days outside the series' span are NaN.
func dailyHDD(temps []Reading, loc *time.Location, d0, n int, base float64) []float64 {
	ts := cleanTemps(temps)
	out := make([]float64, n)
	for i := range n {
		out[i] = hddOn(ts, loc, d0+i, base)
	}
	return out
}

// cleanTemps returns the finite temperatures sorted by time.
func cleanTemps(temps []Reading) []Reading {
	ts := make([]Reading, 0, len(temps))
	for _, r := range temps {
		if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
			ts = append(ts, r)
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Time.Before(ts[j].Time) })
	return ts
}

// hddOn is the heating degree days of civil day dn from the clean series
// ts: NaN unless the day lies within a day of the series' span.
func hddOn(ts []Reading, loc *time.Location, dn int, base float64) float64 {
	if len(ts) == 0 {
		return math.NaN()
	}
	first, last := ts[0].Time.Add(-24*time.Hour), ts[len(ts)-1].Time.Add(24*time.Hour)
	y, m, d := civilDate(dn)
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	end := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	if start.Before(first) || end.After(last) {
		return math.NaN()
	}
	step := end.Sub(start) / 24
	sum := 0.0
	for h := range 24 {
		at := start.Add(step/2 + time.Duration(h)*step)
		sum += tempAt(ts, at)
	}
	return max(0, base-sum/24)
}

// degreeDays is dailyHDD of one temperature series in one zone over every
// day it can tell, computed once per run (NewPlan) and shared by every
// meter's learner: rebuilt per meter from an hourly series of years, it
// tripled a house's processing.
type degreeDays struct {
	temps []Reading // the series it was computed from, to recognise it
	loc   *time.Location
	base  float64
	d0    int       // civil day of hdd[0]
	hdd   []float64 // NaN outside the series' span
}

// newDegreeDays computes the degree days of every day that hddOn does not
// leave NaN: a day starts at least a day before the first temperature only
// from two days before its day on, and likewise at the end.
func newDegreeDays(temps []Reading, loc *time.Location, base float64) *degreeDays {
	dd := &degreeDays{temps: temps, loc: loc, base: base}
	ts := cleanTemps(temps)
	if len(ts) == 0 {
		return dd
	}
	dd.d0 = dayIn(ts[0].Time, loc) - 2
	n := dayIn(ts[len(ts)-1].Time, loc) + 2 - dd.d0 + 1
	dd.hdd = make([]float64, n)
	for i := range n {
		dd.hdd[i] = hddOn(ts, loc, dd.d0+i, base)
	}
	return dd
}

// serves reports whether dd holds the degree days of temps in loc at base.
func (dd *degreeDays) serves(temps []Reading, loc *time.Location, base float64) bool {
	return dd != nil && dd.loc == loc && dd.base == base && len(dd.temps) == len(temps) &&
		(len(temps) == 0 || &dd.temps[0] == &temps[0])
}

// days is dailyHDD of n days from day d0.
func (dd *degreeDays) days(d0, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		j := d0 + i - dd.d0
		if j >= 0 && j < len(dd.hdd) {
			out[i] = dd.hdd[j]
		} else {
			out[i] = math.NaN()
		}
	}
	return out
}

// withDegreeDays returns opt with its degree days computed once in loc, for
// learning many meters' profiles with the same options.
func (opt ProfileOptions) withDegreeDays(loc *time.Location) ProfileOptions {
	if len(opt.Temperatures) > 0 && !opt.NoTemperature {
		opt.degreeDays = newDegreeDays(opt.Temperatures, loc, opt.baseTemperature())
	}
	return opt
}

func (opt ProfileOptions) baseTemperature() float64 {
	if opt.BaseTemperature == 0 {
		return defaultBaseTemp
	}
	return opt.BaseTemperature
}

func tempAt(ts []Reading, at time.Time) float64 {
	j := sort.Search(len(ts), func(i int) bool { return !ts[i].Time.Before(at) })
	switch {
	case j == 0:
		return ts[0].Value
	case j == len(ts):
		return ts[len(ts)-1].Value
	}
	a, b := ts[j-1], ts[j]
	span := b.Time.Sub(a.Time)
	if span <= 0 {
		return b.Value
	}
	w := float64(at.Sub(a.Time)) / float64(span)
	return a.Value + w*(b.Value-a.Value)
}

// at integrates a per-day quantity (given by its prefix sums) from the span's
// start to day position t, with the quantity uniform within a day.
func (l *profLearner) at(prefix, v []float64, t float64) float64 {
	x := t - float64(l.d0)
	i := int(math.Floor(x))
	if i < 0 {
		return 0
	}
	if i >= l.n {
		return prefix[l.n]
	}
	return prefix[i] + v[i]*(x-float64(i))
}

// profileFit is one fitted candidate: a per-day intensity over the span, and
// outside it the structural shape scaled by the end rate.
type profileFit struct {
	l          *profLearner
	cfg        shapeConfig
	weekday    [7]float64
	learned    bool // season holds a learned annual curve (else the pattern)
	season     [harmonics*2 + 1]float64
	hddA, hddB float64
	day        []float64 // normalised intensity per span day
	rateBefore float64   // level before the span, per unit of structural shape
	rateAfter  float64
	mean       float64 // normaliser: mean raw per-day value over the span
}

// structural returns the shape factor of day number dn (weekday × season ×
// degree days), also for days outside the span.
func (f *profileFit) structural(dn int) float64 {
	wd, doy, month, mdays := civilCalendar(dn)
	g := f.weekday[wd]
	if f.cfg.seasonal {
		g *= f.seasonAt(doy, month, mdays)
	}
	if f.cfg.hdd {
		h := math.NaN()
		if i := dn - f.l.d0; i >= 0 && i < f.l.n {
			h = f.l.hddDay[i]
		}
		g *= f.hddFactor(h)
	}
	return max(g, intensityFloor)
}

// spanBase computes for the span's first n days the per-day shape that
// fitShape spreads a level by: structural for span day i (from the
// precomputed calendar), then, when cfg.weekday, times the learned weekday
// factors, floored again. f.weekday must still be all ones (fitShape sets
// it after). It writes day i's value to base[i] unless base is nil, and
// the running sum over days [0, i] to prefix[i+1] unless prefix is nil (in
// the same loop, where the chain of additions overlaps the days' work).
//
// A learned season depends only on the day of the year (and whether the
// year is a leap year): its value is computed the first time the span
// reaches that day of the year and looked up for the same day of later
// years, instead of once per day of a span of years.
func (f *profileFit) spanBase(n int, base, prefix []float64) {
	l := f.l
	learned := f.cfg.seasonal && f.learned
	season, seen := &l.scratch.seasonDay, &l.scratch.seasonSeen
	if learned {
		clear(seen[:])
	}
	if base != nil {
		base = base[:n]
	}
	if prefix != nil {
		prefix = prefix[:n+1]
		prefix[0] = 0
	}
	// The running sum is kept in a variable: read back from prefix (or a
	// field), each addition would also wait for the store of the one
	// before it. The same additions in the same order.
	sum := 0.0
	for i := range n {
		c := l.cal[i]
		g := f.weekday[c.wd]
		if f.cfg.seasonal {
			if learned {
				if k := int(c.leap)*366 + int(c.yday); seen[k] {
					g *= season[k]
				} else {
					season[k], seen[k] = f.seasonOnSpan(i), true
					g *= season[k]
				}
			} else {
				g *= f.seasonAt(0, int(c.month), float64(c.mdays)) // a pattern: doy unused
			}
		}
		if f.cfg.hdd {
			g *= f.hddFactor(l.hddDay[i])
		}
		g = max(g, intensityFloor)
		if f.cfg.weekday {
			g = max(g*l.weekday[c.wd], intensityFloor)
		}
		if base != nil {
			base[i] = g
		}
		if prefix != nil {
			sum += g // prefix[i] + g
			prefix[i+1] = sum
		}
	}
}

func (f *profileFit) seasonAt(doy float64, month int, mdays float64) float64 {
	if !f.learned {
		if f.l.pattern == nil {
			return 1
		}
		return f.l.pattern[month] / mdays * yearDays
	}
	v := f.season[0]
	for h := 1; h <= harmonics; h++ {
		a := 2 * math.Pi * float64(h) * doy
		v += f.season[2*h-1]*math.Cos(a) + f.season[2*h]*math.Sin(a)
	}
	return max(v, 0.05)
}

// seasonOnSpan is seasonAt of a learned curve for span day i, from the
// cached basis instead of trigonometry (the same sums in the same order).
func (f *profileFit) seasonOnSpan(i int) float64 {
	b := f.l.basis(i)
	v := f.season[0]
	for h := 1; h <= harmonics; h++ {
		v += f.season[2*h-1]*b[2*h-1] + f.season[2*h]*b[2*h]
	}
	return max(v, 0.05)
}

func (f *profileFit) hddFactor(h float64) float64 {
	if math.IsNaN(h) {
		return 1
	}
	return f.hddA + f.hddB*h
}

func (f *profileFit) intensity(dn int) float64 {
	i := dn - f.l.d0
	var v float64
	switch {
	case i >= 0 && i < f.l.n:
		v = f.day[i]
	case i < 0:
		v = f.structural(dn) * f.rateBefore / f.mean
	default:
		v = f.structural(dn) * f.rateAfter / f.mean
	}
	return max(v, intensityFloor)
}

// fitShape fits candidate cfg on all the readings.
func (l *profLearner) fitShape(cfg shapeConfig) *profileFit {
	f := &profileFit{l: l, cfg: cfg, weekday: ones7(), hddA: 1}
	pts := l.pts
	if cfg.seasonal {
		if pts[len(pts)-1].t-pts[0].t >= minSeasonalDays {
			f.fitSeason(pts)
		}
	}
	if cfg.hdd {
		f.fitHDD(pts)
	}
	base := grow(&l.scratch.base, l.n)
	var prefix []float64 // base's prefix sums, for a smooth level
	if cfg.smooth != smoothNone {
		prefix = grow(&l.scratch.prefix, l.n+1)
	}
	f.spanBase(l.n, base, prefix)
	if cfg.weekday {
		f.weekday = l.weekday
	}
	// f.day first receives the smooth level's raw use, then (in place) the
	// normalised intensity: every element is written before it is read.
	f.day = newDayValues(l.n)
	raw := base
	f.rateBefore, f.rateAfter = 1, 1
	if cfg.smooth != smoothNone {
		raw = f.smoothLevel(pts, base, prefix, cfg.smooth, f.day)
		// Ends: the level of the first and last interval per unit of shape.
		rate := func(a, b profPoint) float64 {
			s := l.at(prefix, base, b.t) - l.at(prefix, base, a.t)
			if s <= 0 || !b.known {
				return 0
			}
			return (b.c - a.c) / s
		}
		f.rateBefore = rate(pts[0], pts[1])
		f.rateAfter = rate(pts[len(pts)-2], pts[len(pts)-1])
	}
	mean := 0.0 // summed in a variable, not in f's memory (see spanBase)
	for _, v := range raw {
		mean += v
	}
	f.mean = mean / float64(len(raw))
	if f.mean <= 0 || math.IsNaN(f.mean) {
		f.mean = 1
		raw = base
	}
	for i, v := range raw {
		f.day[i] = max(v/f.mean, intensityFloor)
	}
	return f
}

// fitSeason fits an annual Fourier curve to the intervals' use relative to
// the mean rate of the year around them, integrating the basis over each
// interval so long and short intervals count honestly.
func (f *profileFit) fitSeason(pts []profPoint) {
	l := f.l
	const nb = 2*harmonics + 1
	first, last := pts[0].t, pts[len(pts)-1].t
	// pts are some of l.pts in order: the basis integral at each is looked
	// up by walking l.pts along (it depends on a reading's t alone).
	at, j := l.pointBasis(), 0
	basisAt := func(t float64) *[nb]float64 {
		for l.pts[j].t < t {
			j++
		}
		return &at[j]
	}
	rows := grow(&l.scratch.rows, nb*len(pts)) // row r is rows[r*nb:(r+1)*nb]
	ys := grow(&l.scratch.ys, len(pts))
	nr := 0
	ib := basisAt(first)
	// The year around each interval moves forward with it.
	rlo, rhi := registerWalker{pts: pts}, registerWalker{pts: pts}
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		ia := ib
		ib = basisAt(b.t)
		dt := b.t - a.t
		if !b.known || dt < 0.5 {
			continue
		}
		mid := (a.t + b.t) / 2
		lo := max(first, mid-yearDays/2)
		hi := min(last, lo+yearDays)
		lo = max(first, hi-yearDays)
		level := (rhi.at(hi) - rlo.at(lo)) / (hi - lo)
		if level <= 0 {
			continue
		}
		row := rows[nr*nb : (nr+1)*nb]
		for k := range nb {
			row[k] = (ib[k] - ia[k]) / dt
		}
		ys[nr] = (b.c - a.c) / dt / level
		nr++
	}
	f.season = [harmonics*2 + 1]float64{1}
	if nr <= nb {
		return
	}
	var prior [nb]float64
	coef, ok := ridgeSolve(rows[:nr*nb], ys[:nr], prior[:], 1e-6)
	if !ok {
		return
	}
	copy(f.season[:], coef)
	f.learned = true
	// Normalise to mean 1 over a year.
	// The basis at the middle of each day of a 365-day year: the table's
	// common year, whose days' middles are those of (d+0.5)/365.
	m := 0.0
	year := &seasonTab()[0]
	for d := range 365 {
		b := &year[d]
		v := f.season[0]
		for h := 1; h <= harmonics; h++ {
			v += f.season[2*h-1]*b[2*h-1] + f.season[2*h]*b[2*h]
		}
		m += max(v, 0.05)
	}
	m /= 365
	if m > 0 {
		for k := range f.season {
			f.season[k] /= m
		}
	}
}

// fitHDD fits rate = a + b·HDD over the intervals (both non-negative) and
// normalises the factor to mean 1 over the span.
func (f *profileFit) fitHDD(pts []profPoint) {
	l := f.l
	sum, cnt := l.hddPrefixes()
	if cnt == 0 {
		f.hddA, f.hddB = 1, 0
		return
	}
	rows := grow(&l.scratch.rows, 2*len(pts)) // row r is rows[2r:2r+2]
	ys := grow(&l.scratch.ys, len(pts))
	nr := 0
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		dt := b.t - a.t
		ha, ka := l.hddAt(a.t)
		hb, kb := l.hddAt(b.t)
		kd := kb - ka
		if !b.known || dt < 0.5 || kd < 0.9*dt {
			continue
		}
		rows[2*nr], rows[2*nr+1] = 1, (hb-ha)/dt
		ys[nr] = (b.c - a.c) / dt
		nr++
	}
	rows, ys = rows[:2*nr], ys[:nr]
	a, b := 1.0, 0.0
	if nr >= 3 {
		if coef, ok := ridgeSolve(rows, ys, []float64{0, 0}, 1e-9); ok {
			a, b = coef[0], coef[1]
			if b < 0 {
				a, b = 1, 0
			} else if a < 0 {
				// Pure degree-day use: refit b alone.
				num, den := 0.0, 0.0
				for k, y := range ys {
					x := rows[2*k+1]
					num += x * y
					den += x * x
				}
				a, b = 0, num/den
			}
		}
	}
	norm := a + b*sum/cnt
	if norm <= 0 {
		a, b, norm = 1, 0, 1
	}
	f.hddA, f.hddB = a/norm, b/norm
}

// hddPrefixes fills hddPrefix and knownPrefix on first use, and returns the
// sum of the known degree days and their number.
func (l *profLearner) hddPrefixes() (sum, cnt float64) {
	if l.hddPrefix == nil {
		l.hddPrefix, l.knownPrefix = grow(&l.scratch.hddPrefix, l.n+1), grow(&l.scratch.known, l.n+1)
		l.hddPrefix[0], l.knownPrefix[0] = 0, 0
		hs, ks := 0.0, 0.0 // the running sums (see spanBase)
		for i := range l.n {
			h, k := l.hddKnown(i)
			hs, ks = hs+h, ks+k
			l.hddPrefix[i+1], l.knownPrefix[i+1] = hs, ks
		}
	}
	sum, cnt = 0, 0
	for _, v := range l.hddDay {
		if !math.IsNaN(v) {
			sum += v
			cnt++
		}
	}
	return sum, cnt
}

// hddKnown returns span day i's degree days (0 when unknown) and whether
// they are known (1) or not (0).
func (l *profLearner) hddKnown(i int) (float64, float64) {
	if v := l.hddDay[i]; !math.IsNaN(v) {
		return v, 1
	}
	return 0, 0
}

// hddAt integrates the known degree days and the days that know them from
// the span's start to day position t, as at does (after hddPrefixes).
func (l *profLearner) hddAt(t float64) (h, known float64) {
	x := t - float64(l.d0)
	i := int(math.Floor(x))
	if i < 0 {
		return 0, 0
	}
	if i >= l.n {
		return l.hddPrefix[l.n], l.knownPrefix[l.n]
	}
	hi, ki := l.hddKnown(i)
	return l.hddPrefix[i] + hi*(x-float64(i)), l.knownPrefix[i] + ki*(x-float64(i))
}

// learnWeekday estimates a weekend-to-workday use ratio r from how each
// interval's average rate departs from the trend of its two neighbours:
// with a level that is locally linear in time, the second difference of log
// rates leaves only the difference in weekend share, log(1+(r−1)e). r is
// found by a weighted grid search; it is kept only when the fit's F
// statistic against r = 1 exceeds weekendF, and is then shrunk towards 1 by
// the factor 1 − 1/F, so noise never becomes a weekly shape. Seven free
// weekday factors were tried first and dropped: the intervals do not carry
// enough information for them at D ≥ 14 and they turned noise into shapes.
func (l *profLearner) learnWeekday() bool {
	pts := l.pts
	if len(pts) < 10 {
		return false
	}
	sc := l.scratch
	ivs := grow(&sc.ivs, len(pts)-1)
	clear(ivs)
	for i := range ivs {
		a, b := pts[i], pts[i+1]
		dt := b.t - a.t
		if !b.known || dt < 0.5 || b.c <= a.c {
			continue
		}
		ivs[i] = weekIv{
			ok: true, logRate: math.Log((b.c - a.c) / dt),
			e:   (l.weekendAt(b.t) - l.weekendAt(a.t)) / dt,
			mid: (a.t + b.t) / 2, length: dt,
		}
	}
	// Near-zero rates (heating off, holidays) make log rates explode; such
	// intervals carry no weekly signal worth the noise.
	rates := grow(&sc.rates, len(ivs))[:0]
	for _, v := range ivs {
		if v.ok {
			rates = append(rates, v.logRate)
		}
	}
	if len(rates) < 20 {
		return false
	}
	floor := nthSmallest(rates, len(rates)/2) + math.Log(0.2) // the median
	for i := range ivs {
		if ivs[i].ok && ivs[i].logRate < floor {
			ivs[i].ok = false
		}
	}
	tr := grow(&sc.triples, len(ivs))[:0]
	for i := 1; i+1 < len(ivs); i++ {
		p, c, n := ivs[i-1], ivs[i], ivs[i+1]
		if !p.ok || !c.ok || !n.ok {
			continue
		}
		alp := (n.mid - c.mid) / (n.mid - p.mid)
		bet := 1 - alp
		tr = append(tr, weekTriple{
			y:   c.logRate - alp*p.logRate - bet*n.logRate,
			w:   1 / (1/c.length + alp*alp/p.length + bet*bet/n.length),
			alp: alp, i0: i - 1, i1: i, i2: i + 1,
			fixed: p.e == 0 && c.e == 0 && n.e == 0,
		})
	}
	if len(tr) < 20 {
		return false
	}
	// Each interval's log weekend effect is computed once per r, not once
	// per triple. Most intervals of a meter read daily lie wholly in the
	// week (e = 0: none, whatever r, set once here) or the weekend (e = 1:
	// log r); only the others take a logarithm each. A triple of weekday
	// intervals adds the same term for every r: it is computed once, below,
	// by the same expression, and added in its place.
	gv := grow(&sc.gv, len(ivs))
	ones, frac := sc.ones[:0], sc.frac[:0]
	for i, v := range ivs {
		switch {
		case !v.ok:
		case v.e == 0:
			gv[i] = 0
		case v.e == 1:
			ones = append(ones, i)
		default:
			frac = append(frac, i)
		}
	}
	sc.ones, sc.frac = ones, frac
	for j := range tr {
		if t := &tr[j]; t.fixed {
			res := t.y - (gv[t.i1] - t.alp*gv[t.i0] - (1-t.alp)*gv[t.i2])
			t.term = t.w * res * res
		}
	}
	sse := func(r float64) float64 {
		logR := math.Log(r)
		for _, i := range ones {
			gv[i] = logR
		}
		for _, i := range frac {
			gv[i] = math.Log(1 + (r-1)*ivs[i].e)
		}
		s := 0.0
		for _, t := range tr {
			if t.fixed {
				s += t.term
				continue
			}
			res := t.y - (gv[t.i1] - t.alp*gv[t.i0] - (1-t.alp)*gv[t.i2])
			s += t.w * res * res
		}
		return s
	}
	best, bestSSE := 1.0, sse(1)
	null := bestSSE
	// The grid r = 0.1 … 4 (241 points, even in log r) is searched coarse to
	// fine: every 16th point, then every 4th around the best of those, then
	// every point around the best again. The sum of squares is smooth and
	// single-dipped in log r, so this finds the grid's minimum with 28
	// evaluations instead of 241.
	const steps = 240
	gridR := func(k int) float64 { return math.Exp(math.Log(0.1) + float64(k)*math.Log(40)/steps) }
	var sseAt [steps + 1]float64
	var done [steps + 1]bool
	eval := func(k int) float64 {
		if !done[k] {
			sseAt[k], done[k] = sse(gridR(k)), true
		}
		return sseAt[k]
	}
	kc, lo, hi, prev := 0, 0, steps, 0
	for _, step := range []int{16, 4} {
		if prev > 0 {
			lo, hi = max(kc-prev+step, 0), min(kc+prev-step, steps)
		}
		for k := lo; k <= hi; k += step {
			if eval(k) < eval(kc) {
				kc = k
			}
		}
		prev = step
	}
	for k := max(kc-prev+1, 0); k <= min(kc+prev-1, steps); k++ {
		if v := eval(k); v < bestSSE {
			best, bestSSE = gridR(k), v
		}
	}
	if bestSSE <= 0 {
		return false
	}
	f := (null - bestSSE) / (bestSSE / float64(len(tr)-1))
	if f < weekendF {
		return false
	}
	r := 1 + (best-1)*(1-1/f)
	m := (5 + 2*r) / 7
	for k := range l.weekday {
		l.weekday[k] = 1 / m
	}
	l.weekday[time.Saturday], l.weekday[time.Sunday] = r/m, r/m
	return true
}

// weekendAt is at of the weekend indicator (1 on Saturdays and Sundays, else
// 0): the weekend days from the span's start to day position t. Its prefix
// sums are whole numbers, counted here instead of summed per day (both are
// exact in float64).
func (l *profLearner) weekendAt(t float64) float64 {
	x := t - float64(l.d0)
	i := int(math.Floor(x))
	if i < 0 {
		return 0
	}
	// weekends(m) counts the weekend days among m days from a Sunday.
	weekends := func(m int) int { return 2*(m/7) + min(m%7, 1) }
	wd0 := int(l.cal[0].wd)
	if i >= l.n {
		return float64(weekends(wd0+l.n) - weekends(wd0))
	}
	we := 0.0
	if wd := time.Weekday(l.cal[i].wd); wd == time.Saturday || wd == time.Sunday {
		we = 1
	}
	return float64(weekends(wd0+i)-weekends(wd0)) + we*(x-float64(i))
}

// nthSmallest returns the k-th smallest of xs (from 0), the value that xs
// sorted would hold at k, by selection instead of a sort (Hoare's
// quickselect); it reorders xs, which must hold no NaN.
func nthSmallest(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		p := xs[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for xs[i] < p {
				i++
			}
			for xs[j] > p {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i, j = i+1, j-1
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k] // between the parts: equal to the pivot
		}
	}
	return xs[k]
}

// weekIv is an interval of learnWeekday: its log rate and weekend share.
type weekIv struct {
	ok          bool
	logRate, e  float64
	mid, length float64
}

// weekTriple is three consecutive intervals of learnWeekday.
type weekTriple struct {
	y, w       float64 // second difference of log rates, weight
	alp        float64
	i0, i1, i2 int // the intervals, indices into ivs

	fixed bool    // all three intervals lie in the week (e = 0)…
	term  float64 // …so the triple's term of the sum is this for every r
}

// ridgeSolve solves min ‖Xβ − y‖² + λ‖β − prior‖², where row r of X is
// rows[r*p:(r+1)*p] for p = len(prior).
func ridgeSolve(rows []float64, ys, prior []float64, lambda float64) ([]float64, bool) {
	p := len(prior)
	// XᵀX (its upper triangle, row-major) and Xᵀy, summed in plain slices
	// and handed to gonum once.
	ata, atb := make([]float64, p*p), make([]float64, p)
	for r := range ys {
		row := rows[r*p : (r+1)*p]
		for i := range p {
			atb[i] = atb[i] + row[i]*ys[r]
			for j := i; j < p; j++ {
				ata[i*p+j] = ata[i*p+j] + row[i]*row[j]
			}
		}
	}
	for i := range p {
		ata[i*p+i] = ata[i*p+i] + lambda
		atb[i] = atb[i] + lambda*prior[i]
	}
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(p, ata)) {
		return nil, false
	}
	var x mat.VecDense
	if err := ch.SolveVecTo(&x, mat.NewVecDense(p, atb)); err != nil {
		return nil, false
	}
	out := make([]float64, p)
	for i := range out {
		out[i] = x.AtVec(i)
		if math.IsNaN(out[i]) || math.IsInf(out[i], 0) {
			return nil, false
		}
	}
	return out, true
}

// registerWalker interpolates the continuous register linearly at day
// positions that move little from one call to the next: it steps from the
// last reading instead of searching.
type registerWalker struct {
	pts []profPoint
	j   int // the first reading at or after the last position
}

func (w *registerWalker) at(t float64) float64 {
	for w.j > 0 && w.pts[w.j-1].t >= t {
		w.j--
	}
	for w.j < len(w.pts) && w.pts[w.j].t < t {
		w.j++
	}
	return registerAtIndex(w.pts, w.j, t)
}

// registerAtIndex interpolates the register at day position t, given the
// first reading j at or after t.
func registerAtIndex(pts []profPoint, j int, t float64) float64 {
	switch {
	case j == 0:
		return pts[0].c
	case j == len(pts):
		return pts[len(pts)-1].c
	}
	a, b := pts[j-1], pts[j]
	return a.c + (b.c-a.c)*(t-a.t)/(b.t-a.t)
}

// smoothLevel returns in out per-day use predicted by a monotone cubic (Fritsch–
// Butland) through the register against structural time (the cumulative
// shape), so that the level varies smoothly across readings instead of
// jumping at each one, and the shape modulates it within days.
func (f *profileFit) smoothLevel(pts []profPoint, base, pb []float64, kind int, out []float64) []float64 {
	l := f.l
	n := len(pts)
	x, y := grow(&l.scratch.x, n), grow(&l.scratch.y, n)
	for i, p := range pts {
		x[i], y[i] = l.at(pb, base, p.t), p.c
	}
	d := l.slopes(x, y, pts, kind)
	w := hermiteWalker{x: x, y: y, d: d}
	prev := w.at(pb[0])
	for i := range l.n {
		next := w.at(pb[i+1])
		out[i] = max(next-prev, 0)
		prev = next
	}
	return out
}

// slopes returns the knot derivatives of smoother kind (in scratch).
func (l *profLearner) slopes(x, y []float64, pts []profPoint, kind int) []float64 {
	if kind == smoothSpline {
		return splineSlopes(x, y, l.scratch)
	}
	return pchipSlopes(x, y, pts, l.scratch)
}

// hermiteWalker is hermiteAt for increasing arguments: it finds the knot
// interval by stepping forward instead of searching, for a per-day sweep.
type hermiteWalker struct {
	x, y, d []float64
	j       int
}

func (w *hermiteWalker) at(s float64) float64 {
	x, n := w.x, len(w.x)
	if s <= x[0] || s >= x[n-1] {
		return hermiteAt(x, w.y, w.d, s)
	}
	for w.j > 0 && x[w.j-1] >= s {
		w.j-- // not increasing after all: step back
	}
	for x[w.j] < s {
		w.j++
	}
	return hermiteSegment(x, w.y, w.d, w.j, s)
}

// pchipSlopes are the Fritsch–Butland derivatives; an unknown interval gets
// zero weight by forcing flat slopes at its ends.
func pchipSlopes(x, y []float64, pts []profPoint, sc *profScratch) []float64 {
	n := len(x)
	h, del := grow(&sc.h, n-1), grow(&sc.del, n-1)
	for i := range n - 1 {
		h[i], del[i] = x[i+1]-x[i], 0
		if h[i] > 0 {
			del[i] = (y[i+1] - y[i]) / h[i]
		}
	}
	d := grow(&sc.d, n)
	d[0], d[n-1] = del[0], del[n-2]
	for i := 1; i < n-1; i++ {
		a, b := del[i-1], del[i]
		if !pts[i].known || !pts[i+1].known || a <= 0 || b <= 0 {
			d[i] = 0
			continue
		}
		w1, w2 := 2*h[i]+h[i-1], h[i]+2*h[i-1]
		d[i] = (w1 + w2) / (w1/a + w2/b)
	}
	return d
}

// splineSlopes are the knot derivatives of the natural C² cubic spline.
func splineSlopes(x, y []float64, sc *profScratch) []float64 {
	n := len(x)
	d := grow(&sc.d, n)
	if n == 2 {
		s := (y[1] - y[0]) / (x[1] - x[0])
		d[0], d[1] = s, s
		return d
	}
	h, del := grow(&sc.h, n-1), grow(&sc.del, n-1)
	for i := range n - 1 {
		h[i] = x[i+1] - x[i]
		del[i] = (y[i+1] - y[i]) / h[i]
	}
	// Tridiagonal system a·d[i-1] + b·d[i] + c·d[i+1] = r, Thomas algorithm.
	a, b, c, r := grow(&sc.a, n), grow(&sc.b, n), grow(&sc.c, n), grow(&sc.r, n)
	a[0], c[n-1] = 0, 0 // unused
	b[0], c[0], r[0] = 2, 1, 3*del[0]
	for i := 1; i < n-1; i++ {
		a[i], b[i], c[i] = h[i], 2*(h[i-1]+h[i]), h[i-1]
		r[i] = 3 * (h[i]*del[i-1] + h[i-1]*del[i])
	}
	a[n-1], b[n-1], r[n-1] = 1, 2, 3*del[n-2]
	for i := 1; i < n; i++ {
		m := a[i] / b[i-1]
		b[i] -= m * c[i-1]
		r[i] -= m * r[i-1]
	}
	d[n-1] = r[n-1] / b[n-1]
	for i := n - 2; i >= 0; i-- {
		d[i] = (r[i] - c[i]*d[i+1]) / b[i]
	}
	return d
}

// hermiteAt evaluates the cubic Hermite interpolant at s, extending linearly
// with the end secants outside the knots.
func hermiteAt(x, y, d []float64, s float64) float64 {
	n := len(x)
	if s <= x[0] {
		return y[0] + (s-x[0])*(y[1]-y[0])/math.Max(x[1]-x[0], 1e-12)
	}
	if s >= x[n-1] {
		return y[n-1] + (s-x[n-1])*(y[n-1]-y[n-2])/math.Max(x[n-1]-x[n-2], 1e-12)
	}
	return hermiteSegment(x, y, d, sort.SearchFloat64s(x, s), s)
}

// hermiteSegment evaluates the interpolant at s in (x[0], x[n-1]), where j is
// the first knot with x[j] >= s.
func hermiteSegment(x, y, d []float64, j int, s float64) float64 {
	if x[j] == s {
		return y[j]
	}
	i := j - 1
	hh := x[j] - x[i]
	t := (s - x[i]) / hh
	t2, t3 := t*t, t*t*t
	return (2*t3-3*t2+1)*y[i] + (t3-2*t2+t)*hh*d[i] + (-2*t3+3*t2)*y[j] + (t3-t2)*hh*d[j]
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// pairedT is the t statistic of the mean of a[i] − b[i].
func pairedT(a, b []float64) float64 {
	n := len(a)
	if n < 3 || len(b) != n {
		return 0
	}
	m := 0.0
	for i := range a {
		m += a[i] - b[i]
	}
	m /= float64(n)
	v := 0.0
	for i := range a {
		d := a[i] - b[i] - m
		v += d * d
	}
	v /= float64(n - 1)
	if v == 0 {
		if m > 0 {
			return math.Inf(1)
		}
		return 0
	}
	return m / math.Sqrt(v/float64(n))
}

// cvErrors are the two-fold cross-validated absolute errors of predicting
// held-out readings (alternate interior readings) from their neighbours by
// spreading the neighbours' interval in proportion to each candidate's
// cumulative intensity, as BuildDaily does; per candidate one error per
// held-out reading, in the same order for every candidate.
//
// Only the cumulative intensity at the readings matters, so it is computed
// there and not per day: a candidate's structural shape is integrated once
// per fold into prefix sums (shared by the three smoothers, and by both folds
// when nothing of it is fitted), and a smooth level is evaluated only at the
// day boundaries around each reading. This leaves out one detail of fitShape
// that cannot change which candidate wins: the per-day floor of the
// normalised intensity (1e-3 of the mean day).
func (l *profLearner) cvErrors(cands []shapeConfig) [][]float64 {
	n := len(l.pts)
	// One backing array for every candidate's errors: each holds at most
	// one per reading of the two folds.
	out := make([][]float64, len(cands))
	all := grow(&l.scratch.errs, len(cands)*n)[:0]
	for ci := range out {
		out[ci] = all[len(all) : len(all) : len(all)+n]
		all = all[:len(all)+n]
	}
	// The structural prefix sums per shape without its smooth level, shared
	// by the smoothers; one that depends on the calendar alone (fixed) also
	// by both folds, the others refitted per fold into the same buffer.
	type structural struct {
		key   shapeConfig
		S     []float64
		fixed bool
		fold  int // the fold S was fitted on
	}
	var shapes []structural
	prefixOf := func(key shapeConfig, fold int, pts []profPoint) []float64 {
		for i := range shapes {
			if s := &shapes[i]; s.key == key {
				if !s.fixed && s.fold != fold {
					var learned bool
					s.S, learned = l.structuralPrefix(pts, key, s.S)
					s.fixed, s.fold = !learned, fold
				}
				return s.S
			}
		}
		var dst []float64 // a buffer of an earlier learner, if any
		if k := len(shapes); k < len(l.scratch.shapes) {
			dst = l.scratch.shapes[k]
		}
		S, learned := l.structuralPrefix(pts, key, dst)
		shapes = append(shapes, structural{key: key, S: S, fixed: !learned, fold: fold})
		return S
	}
	defer func() {
		for k, s := range shapes {
			if k < len(l.scratch.shapes) {
				l.scratch.shapes[k] = s.S
			} else {
				l.scratch.shapes = append(l.scratch.shapes, s.S)
			}
		}
	}()
	keep, held := grow(&l.scratch.idx, n)[:0], grow(&l.scratch.held, n)[:0]
	for fold := range 2 {
		keep, held = keep[:0], held[:0]
		for i := range n {
			if i == 0 || i == n-1 || i%2 == fold {
				keep = append(keep, i)
			} else {
				held = append(held, i)
			}
		}
		pts := l.keptPoints(keep)
		for ci, c := range cands {
			key := c
			key.smooth = smoothNone
			S := prefixOf(key, fold, pts)
			cum := func(t float64) float64 { return l.atPrefix(S, t) }
			if c.smooth != smoothNone {
				if sl := l.newSmoothCum(pts, S, c.smooth); sl != nil {
					cum = sl.at
				}
			}
			// The reading after one held-out reading is the one before the
			// next: its cum (a function of t alone) is kept for that.
			lastT, lastCum := math.NaN(), 0.0
			for _, h := range held {
				a, b, p := l.pts[h-1], l.pts[h+1], l.pts[h]
				if !p.known || !b.known {
					continue
				}
				// In time order: cum walks the knots forward.
				ia := lastCum
				if a.t != lastT {
					ia = cum(a.t)
				}
				ip, ib := cum(p.t), cum(b.t)
				lastT, lastCum = b.t, ib
				e := b.c - a.c // worst case when the intensity is degenerate
				if ib-ia > 0 {
					e = math.Abs(a.c + (b.c-a.c)*(ip-ia)/(ib-ia) - p.c)
				}
				out[ci] = append(out[ci], e)
			}
		}
	}
	return out
}

// keptPoints are the readings idx (indices into l.pts) as a fit sees them,
// in scratch.
func (l *profLearner) keptPoints(idx []int) []profPoint {
	pts := grow(&l.scratch.kept, len(idx))
	for k, i := range idx {
		pts[k] = l.pts[i]
		if k > 0 && i != idx[k-1]+1 {
			// An interval that spans a dropped reading is known only if
			// every interval it covers is.
			for j := idx[k-1] + 1; j <= i; j++ {
				pts[k].known = pts[k].known && l.pts[j].known
			}
		}
	}
	return pts
}

// structuralPrefix returns the prefix sums over the span's days of the
// structural shape (weekday × season × degree days, as fitShape builds its
// base) of cfg fitted on pts, in dst when it is long enough, and whether it
// depends on pts (a learned season or degree-day factor) rather than on the
// calendar alone.
func (l *profLearner) structuralPrefix(pts []profPoint, cfg shapeConfig, dst []float64) ([]float64, bool) {
	f := profileFit{l: l, cfg: cfg, weekday: ones7(), hddA: 1}
	if cfg.seasonal && pts[len(pts)-1].t-pts[0].t >= minSeasonalDays {
		f.fitSeason(pts)
	}
	if cfg.hdd {
		f.fitHDD(pts)
	}
	prefix := grow(&dst, l.n+1)
	if !cfg.seasonal && !cfg.hdd {
		// The shape depends on the weekday alone: its value on each day of
		// the first week, looked up for every day.
		var first, week [7]float64
		f.spanBase(min(7, l.n), first[:], nil)
		for i, v := range first[:min(7, l.n)] {
			week[l.cal[i].wd] = v
		}
		prefix[0] = 0
		sum := 0.0 // prefix[i], in a variable (see spanBase)
		for i, c := range l.cal {
			sum += week[c.wd]
			prefix[i+1] = sum
		}
	} else {
		f.spanBase(l.n, nil, prefix)
	}
	return prefix, f.learned || cfg.hdd
}

// atPrefix is at for a quantity given by its prefix sums alone.
func (l *profLearner) atPrefix(prefix []float64, t float64) float64 {
	x := t - float64(l.d0)
	i := int(math.Floor(x))
	if i < 0 {
		return 0
	}
	if i >= l.n {
		return prefix[l.n]
	}
	return prefix[i] + (prefix[i+1]-prefix[i])*(x-float64(i))
}

// smoothCum is the cumulative intensity of a smooth level (smoothLevel)
// through pts at any day position: the interpolant H of the register against
// structural time S, sampled at day boundaries (H(S) − H(S₀) up to the
// day) and linear within a day. smoothLevel clamps a day's use at 0 where H
// falls; corr holds those clamps' running total at the affected days, which
// only segments of H that are not monotone can have.
type smoothCum struct {
	l          *profLearner
	S, x, y, d []float64
	h          hermiteWalker // the held-out readings are asked for in time order
	corrDay    []int         // days whose use was clamped, increasing
	corrSum    []float64     // corrSum[k]: total clamp up to and including corrDay[k]
}

// newSmoothCum returns nil when the level has no use at all (fitShape then
// falls back to the structural shape). It and its knots and slopes are the
// learner's scratch: valid until the next smooth level.
func (l *profLearner) newSmoothCum(pts []profPoint, S []float64, kind int) *smoothCum {
	n := len(pts)
	sc := &l.scratch.smooth
	*sc = smoothCum{l: l, S: S, x: grow(&l.scratch.x, n), y: grow(&l.scratch.y, n),
		corrDay: sc.corrDay[:0], corrSum: sc.corrSum[:0]}
	for i, p := range pts {
		sc.x[i], sc.y[i] = l.atPrefix(S, p.t), p.c
	}
	sc.d = l.slopes(sc.x, sc.y, pts, kind)
	h := func(s float64) float64 { return hermiteAt(sc.x, sc.y, sc.d, s) }
	total := 0.0
	for k := 0; k+1 < n; k++ {
		if hermiteMonotone(sc.x, sc.y, sc.d, k) {
			continue
		}
		// The days that overlap the falling segment, one by one.
		lo := max(sort.SearchFloat64s(S, sc.x[k])-1, 0)
		hi := min(sort.SearchFloat64s(S, sc.x[k+1]), l.n)
		if m := len(sc.corrDay); m > 0 && lo <= sc.corrDay[m-1] {
			lo = sc.corrDay[m-1] + 1
		}
		for i := lo; i < hi; i++ {
			if du := h(S[i+1]) - h(S[i]); du < 0 {
				total -= du
				sc.corrDay = append(sc.corrDay, i)
				sc.corrSum = append(sc.corrSum, total)
			}
		}
	}
	sc.h = hermiteWalker{x: sc.x, y: sc.y, d: sc.d}
	if !(sc.at(float64(l.d0+l.n)) > sc.at(float64(l.d0))) {
		return nil
	}
	return sc
}

// at returns the cumulative intensity at day position t (up to a constant).
func (sc *smoothCum) at(t float64) float64 {
	l := sc.l
	h := sc.h.at
	x := t - float64(l.d0)
	i := int(math.Floor(x))
	switch {
	case i < 0:
		return h(sc.S[0])
	case i >= l.n:
		return h(sc.S[l.n]) + sc.corrBefore(l.n)
	}
	h0, h1 := h(sc.S[i]), h(sc.S[i+1])
	c0 := sc.corrBefore(i)
	day := h1 - h0
	if k := sort.SearchInts(sc.corrDay, i); k < len(sc.corrDay) && sc.corrDay[k] == i {
		day = 0
	}
	return h0 + c0 + day*(x-float64(i))
}

// corrBefore is the clamps' total over the days before day i.
func (sc *smoothCum) corrBefore(i int) float64 {
	k := sort.SearchInts(sc.corrDay, i)
	if k == 0 {
		return 0
	}
	return sc.corrSum[k-1]
}

// hermiteMonotone reports whether the cubic Hermite segment k never falls:
// its derivative, a quadratic in the segment's parameter, is non-negative at
// both ends and at its minimum.
func hermiteMonotone(x, y, d []float64, k int) bool {
	hh := x[k+1] - x[k]
	if !(hh > 0) {
		return true // never evaluated inside
	}
	d0, d1 := d[k], d[k+1]
	del := (y[k+1] - y[k]) / hh
	if d0 < 0 || d1 < 0 {
		return false
	}
	a := 3*d0 + 3*d1 - 6*del
	b := -4*d0 - 2*d1 + 6*del
	if a <= 0 {
		return true // concave or linear: the minimum is at an end
	}
	if s := -b / (2 * a); s > 0 && s < 1 {
		return d0-b*b/(4*a) >= 0
	}
	return true
}
