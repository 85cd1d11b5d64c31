package processing

import (
	"math"
	"sort"
	"strings"
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
	linear bool
}

// Intensity returns the relative use of the local day that starts at day
// (any instant within the day selects that day). Linear profiles return 1.
func (p *Profile) Intensity(day time.Time) float64 {
	if p == nil || p.linear || p.fit == nil {
		return 1
	}
	dn, _ := profDayPos(day, p.loc)
	return p.fit.intensity(dn)
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

// ProfileIntensity adapts LearnIntensity to RunOptions.Intensity: every
// physical meter gets a profile learned from its own readings and its
// configured pattern. temps may be nil.
func ProfileIntensity(loc *time.Location, temps []Reading, baseTemp float64) func(m Meter, readings []Reading) func(day time.Time) float64 {
	return func(m Meter, readings []Reading) func(day time.Time) float64 {
		return LearnIntensity(readings, ProfileOptions{
			Location: loc, Pattern: m.Pattern, Temperatures: temps, BaseTemperature: baseTemp,
		})
	}
}

// Learning thresholds.
const (
	minCVReadings   = 6    // fewer readings cannot be cross-validated
	minSeasonalDays = 365  // own seasonal curve needs a year of readings
	cvMargin        = 0.03 // a shape must beat linear by 3 % in CV to be used…
	cvMinT          = 2.0  // …with a paired t statistic of the gain of at least this
	intensityFloor  = 1e-3 // keeps every day's intensity positive
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
	pts := profilePoints(readings, loc)
	if len(pts) < 2 {
		return linear
	}
	l := newProfLearner(pts, loc, opt)
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
		f := l.fitShape(allIndex(len(pts)), cfg)
		return &Profile{Method: cfg.name(true), Weekday: ones7(), loc: loc, fit: f}
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
	linErrs := l.cvErrors(shapeConfig{})
	linErr := sum(linErrs)
	best, bestErr := shapeConfig{}, linErr
	var bestErrs []float64
	for _, c := range cands {
		errs := l.cvErrors(c)
		if e := sum(errs); e < bestErr {
			best, bestErr, bestErrs = c, e, errs
		}
	}
	if best == (shapeConfig{}) || bestErr > linErr*(1-cvMargin) || pairedT(linErrs, bestErrs) < cvMinT {
		linear.CVError, linear.CVLinear = linErr, linErr
		return linear
	}
	f := l.fitShape(allIndex(len(pts)), best)
	return &Profile{
		Method: best.name(spanDays < minSeasonalDays), Weekday: f.weekday, loc: loc, fit: f,
		CVError: bestErr, CVLinear: linErr,
	}
}

func ones7() [7]float64 { return [7]float64{1, 1, 1, 1, 1, 1, 1} }

func allIndex(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

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
	return dn, math.Min(math.Max(frac, 0), 1)
}

// profilePoints sorts, drops non-finite values and duplicate instants, and
// thins readings closer than thinGap (the first and last are always kept).
// The register is made continuous by summing only its increases; an interval
// in which it decreased (reset, rollover, typo) is marked unknown.
func profilePoints(readings []Reading, loc *time.Location) []profPoint {
	rs := make([]Reading, 0, len(readings))
	for _, r := range readings {
		if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
			rs = append(rs, r)
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Time.Before(rs[j].Time) })
	if len(rs) == 0 {
		return nil
	}
	gap := time.Duration(thinGap * float64(time.Hour))
	keep := []int{0}
	for i := 1; i < len(rs); i++ {
		if rs[i].Time.Sub(rs[keep[len(keep)-1]].Time) >= gap {
			keep = append(keep, i)
		}
	}
	if last := len(rs) - 1; keep[len(keep)-1] != last && rs[last].Time.After(rs[0].Time) {
		if len(keep) > 1 {
			keep[len(keep)-1] = last
		} else {
			keep = append(keep, last)
		}
	}
	pts := make([]profPoint, len(keep))
	c := 0.0
	for k, i := range keep {
		dn, frac := profDayPos(rs[i].Time, loc)
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

// profLearner holds the per-day calendar of the readings' span and the inputs
// shared by every candidate fit.
type profLearner struct {
	pts     []profPoint
	loc     *time.Location
	pattern *Pattern
	d0, n   int        // first day number and number of days of the span
	wd      []int      // weekday per day
	weekday [7]float64 // learned weekday factors (ones when not significant)
	doy     []float64  // fractional position in the year, 0..1
	month   []int      // 0..11
	mdays   []float64  // days in the day's month
	hddDay  []float64  // heating degree days per day (NaN unknown); nil without temperatures

	// basis and basisPrefix hold the annual Fourier basis per span day and
	// its prefix sums. They depend only on the calendar, so every candidate
	// and fold shares them (seasonBasis fills them on first use).
	basis, basisPrefix [][]float64
}

// seasonBasis returns the annual Fourier basis (1, cos, sin per harmonic)
// evaluated on every span day, and its prefix sums.
func (l *profLearner) seasonBasis() (basis, prefix [][]float64) {
	if l.basis != nil {
		return l.basis, l.basisPrefix
	}
	nb := 2*harmonics + 1
	l.basis = make([][]float64, nb)
	l.basisPrefix = make([][]float64, nb)
	for k := range nb {
		b := make([]float64, l.n)
		for i := range l.n {
			switch {
			case k == 0:
				b[i] = 1
			case k%2 == 1:
				b[i] = math.Cos(2 * math.Pi * float64((k+1)/2) * l.doy[i])
			default:
				b[i] = math.Sin(2 * math.Pi * float64(k/2) * l.doy[i])
			}
		}
		l.basis[k] = b
		l.basisPrefix[k] = prefixSums(b)
	}
	return l.basis, l.basisPrefix
}

func newProfLearner(pts []profPoint, loc *time.Location, opt ProfileOptions) *profLearner {
	d0 := int(math.Floor(pts[0].t))
	d1 := int(math.Floor(pts[len(pts)-1].t))
	l := &profLearner{pts: pts, loc: loc, pattern: opt.Pattern, d0: d0, n: d1 - d0 + 1, weekday: ones7()}
	l.wd = make([]int, l.n)
	l.doy = make([]float64, l.n)
	l.month = make([]int, l.n)
	l.mdays = make([]float64, l.n)
	for i := range l.n {
		l.wd[i], l.doy[i], l.month[i], l.mdays[i] = civilCalendar(d0 + i)
	}
	if len(opt.Temperatures) > 0 && !opt.NoTemperature {
		base := opt.BaseTemperature
		if base == 0 {
			base = defaultBaseTemp
		}
		l.hddDay = dailyHDD(opt.Temperatures, loc, d0, l.n, base)
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
	ts := make([]Reading, 0, len(temps))
	for _, r := range temps {
		if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
			ts = append(ts, r)
		}
	}
	out := make([]float64, n)
	if len(ts) == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Time.Before(ts[j].Time) })
	first, last := ts[0].Time.Add(-24*time.Hour), ts[len(ts)-1].Time.Add(24*time.Hour)
	for i := range n {
		civil := time.Unix(int64(d0+i)*86400, 0).UTC()
		y, m, d := civil.Date()
		start := time.Date(y, m, d, 0, 0, 0, 0, loc)
		end := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		if start.Before(first) || end.After(last) {
			out[i] = math.NaN()
			continue
		}
		step := end.Sub(start) / 24
		sum := 0.0
		for h := range 24 {
			at := start.Add(step/2 + time.Duration(h)*step)
			sum += tempAt(ts, at)
		}
		out[i] = math.Max(0, base-sum/24)
	}
	return out
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

// prefixSums returns prefix sums of a per-day quantity: c[i] is the sum over the
// span's first i days.
func prefixSums(v []float64) []float64 {
	c := make([]float64, len(v)+1)
	for i, x := range v {
		c[i+1] = c[i] + x
	}
	return c
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
	return math.Max(g, intensityFloor)
}

// structuralAt is structural for the span's day i, from the precomputed calendar.
func (f *profileFit) structuralAt(i int) float64 {
	l := f.l
	g := f.weekday[l.wd[i]]
	if f.cfg.seasonal {
		if f.learned {
			g *= f.seasonOnSpan(i)
		} else {
			g *= f.seasonAt(l.doy[i], l.month[i], l.mdays[i])
		}
	}
	if f.cfg.hdd {
		g *= f.hddFactor(l.hddDay[i])
	}
	return math.Max(g, intensityFloor)
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
	return math.Max(v, 0.05)
}

// seasonOnSpan is seasonAt of a learned curve for span day i, from the
// cached basis instead of trigonometry (the same sums in the same order).
func (f *profileFit) seasonOnSpan(i int) float64 {
	basis, _ := f.l.seasonBasis()
	v := f.season[0]
	for h := 1; h <= harmonics; h++ {
		v += f.season[2*h-1]*basis[2*h-1][i] + f.season[2*h]*basis[2*h][i]
	}
	return math.Max(v, 0.05)
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
	return math.Max(v, intensityFloor)
}

// fitShape fits candidate cfg on the readings idx (indices into l.pts).
func (l *profLearner) fitShape(idx []int, cfg shapeConfig) *profileFit {
	f := &profileFit{l: l, cfg: cfg, weekday: ones7(), hddA: 1}
	pts := make([]profPoint, len(idx))
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
	if cfg.seasonal {
		if pts[len(pts)-1].t-pts[0].t >= minSeasonalDays {
			f.fitSeason(pts)
		}
	}
	if cfg.hdd {
		f.fitHDD(pts)
	}
	base := make([]float64, l.n)
	for i := range base {
		base[i] = f.structuralAt(i)
	}
	if cfg.weekday {
		f.weekday = l.weekday
		for i := range base {
			base[i] = math.Max(base[i]*f.weekday[l.wd[i]], intensityFloor)
		}
	}
	raw := base
	if cfg.smooth != smoothNone {
		raw = f.smoothLevel(pts, base, cfg.smooth)
	}
	// Ends: the level of the first and last interval per unit of shape.
	prefix := prefixSums(base)
	rate := func(a, b profPoint) float64 {
		s := l.at(prefix, base, b.t) - l.at(prefix, base, a.t)
		if s <= 0 || !b.known {
			return 0
		}
		return (b.c - a.c) / s
	}
	f.rateBefore = rate(pts[0], pts[1])
	f.rateAfter = rate(pts[len(pts)-2], pts[len(pts)-1])
	if cfg.smooth == smoothNone {
		f.rateBefore, f.rateAfter = 1, 1
	}
	f.mean = 0
	for _, v := range raw {
		f.mean += v
	}
	f.mean /= float64(len(raw))
	if f.mean <= 0 || math.IsNaN(f.mean) {
		f.mean = 1
		raw = base
	}
	f.day = make([]float64, l.n)
	for i, v := range raw {
		f.day[i] = math.Max(v/f.mean, intensityFloor)
	}
	return f
}

// fitSeason fits an annual Fourier curve to the intervals' use relative to
// the mean rate of the year around them, integrating the basis over each
// interval so long and short intervals count honestly.
func (f *profileFit) fitSeason(pts []profPoint) {
	l := f.l
	nb := 2*harmonics + 1
	basis, prefix := l.seasonBasis()
	first, last := pts[0].t, pts[len(pts)-1].t
	var rows [][]float64
	var ys []float64
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		dt := b.t - a.t
		if !b.known || dt < 0.5 {
			continue
		}
		mid := (a.t + b.t) / 2
		lo := math.Max(first, mid-yearDays/2)
		hi := math.Min(last, lo+yearDays)
		lo = math.Max(first, hi-yearDays)
		level := (registerAt(pts, hi) - registerAt(pts, lo)) / (hi - lo)
		if level <= 0 {
			continue
		}
		row := make([]float64, nb)
		for k := range nb {
			row[k] = (l.at(prefix[k], basis[k], b.t) - l.at(prefix[k], basis[k], a.t)) / dt
		}
		rows = append(rows, row)
		ys = append(ys, (b.c-a.c)/dt/level)
	}
	f.season = [harmonics*2 + 1]float64{1}
	if len(rows) <= nb {
		return
	}
	coef, ok := ridgeSolve(rows, ys, make([]float64, nb), 1e-6)
	if !ok {
		return
	}
	copy(f.season[:], coef)
	f.learned = true
	// Normalise to mean 1 over a year.
	m := 0.0
	for d := range 365 {
		m += f.seasonAt((float64(d)+0.5)/365, 0, 31)
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
	h := make([]float64, l.n)
	known := make([]float64, l.n)
	sum, cnt := 0.0, 0.0
	for i, v := range l.hddDay {
		if !math.IsNaN(v) {
			h[i], known[i] = v, 1
			sum += v
			cnt++
		}
	}
	if cnt == 0 {
		f.hddA, f.hddB = 1, 0
		return
	}
	ph, pk := prefixSums(h), prefixSums(known)
	var rows [][]float64
	var ys []float64
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		dt := b.t - a.t
		kd := l.at(pk, known, b.t) - l.at(pk, known, a.t)
		if !b.known || dt < 0.5 || kd < 0.9*dt {
			continue
		}
		rows = append(rows, []float64{1, (l.at(ph, h, b.t) - l.at(ph, h, a.t)) / dt})
		ys = append(ys, (b.c-a.c)/dt)
	}
	a, b := 1.0, 0.0
	if len(rows) >= 3 {
		if coef, ok := ridgeSolve(rows, ys, []float64{0, 0}, 1e-9); ok {
			a, b = coef[0], coef[1]
			if b < 0 {
				a, b = 1, 0
			} else if a < 0 {
				// Pure degree-day use: refit b alone.
				num, den := 0.0, 0.0
				for k, r := range rows {
					num += r[1] * ys[k]
					den += r[1] * r[1]
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
	we := make([]float64, l.n)
	for i := range l.n {
		if wd := time.Weekday(l.wd[i]); wd == time.Saturday || wd == time.Sunday {
			we[i] = 1
		}
	}
	pw := prefixSums(we)
	type iv struct {
		ok          bool
		logRate, e  float64
		mid, length float64
	}
	ivs := make([]iv, len(pts)-1)
	for i := range ivs {
		a, b := pts[i], pts[i+1]
		dt := b.t - a.t
		if !b.known || dt < 0.5 || b.c <= a.c {
			continue
		}
		ivs[i] = iv{
			ok: true, logRate: math.Log((b.c - a.c) / dt),
			e:   (l.at(pw, we, b.t) - l.at(pw, we, a.t)) / dt,
			mid: (a.t + b.t) / 2, length: dt,
		}
	}
	// Near-zero rates (heating off, holidays) make log rates explode; such
	// intervals carry no weekly signal worth the noise.
	var rates []float64
	for _, v := range ivs {
		if v.ok {
			rates = append(rates, v.logRate)
		}
	}
	if len(rates) < 20 {
		return false
	}
	sort.Float64s(rates)
	floor := rates[len(rates)/2] + math.Log(0.2)
	for i := range ivs {
		if ivs[i].ok && ivs[i].logRate < floor {
			ivs[i].ok = false
		}
	}
	type triple struct {
		y, w            float64 // second difference of log rates, weight
		e0, e1, e2, alp float64
	}
	var tr []triple
	for i := 1; i+1 < len(ivs); i++ {
		p, c, n := ivs[i-1], ivs[i], ivs[i+1]
		if !p.ok || !c.ok || !n.ok {
			continue
		}
		alp := (n.mid - c.mid) / (n.mid - p.mid)
		bet := 1 - alp
		tr = append(tr, triple{
			y:  c.logRate - alp*p.logRate - bet*n.logRate,
			w:  1 / (1/c.length + alp*alp/p.length + bet*bet/n.length),
			e0: p.e, e1: c.e, e2: n.e, alp: alp,
		})
	}
	if len(tr) < 20 {
		return false
	}
	sse := func(r float64) float64 {
		// Most intervals of a meter read daily lie wholly in the week (e = 0)
		// or the weekend (e = 1): answer those without a logarithm, the
		// grid search below evaluates this 242 times.
		logR := math.Log(r)
		g := func(e float64) float64 {
			switch e {
			case 0:
				return 0
			case 1:
				return logR
			}
			return math.Log(1 + (r-1)*e)
		}
		s := 0.0
		for _, t := range tr {
			res := t.y - (g(t.e1) - t.alp*g(t.e0) - (1-t.alp)*g(t.e2))
			s += t.w * res * res
		}
		return s
	}
	best, bestSSE := 1.0, sse(1)
	null := bestSSE
	for k := range 241 {
		r := math.Exp(math.Log(0.1) + float64(k)*math.Log(40)/240) // 0.1 … 4
		if v := sse(r); v < bestSSE {
			best, bestSSE = r, v
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

// ridgeSolve solves min ‖Xβ − y‖² + λ‖β − prior‖².
func ridgeSolve(rows [][]float64, ys, prior []float64, lambda float64) ([]float64, bool) {
	p := len(prior)
	ata := mat.NewSymDense(p, nil)
	atb := mat.NewVecDense(p, nil)
	for r, row := range rows {
		for i := range p {
			atb.SetVec(i, atb.AtVec(i)+row[i]*ys[r])
			for j := i; j < p; j++ {
				ata.SetSym(i, j, ata.At(i, j)+row[i]*row[j])
			}
		}
	}
	for i := range p {
		ata.SetSym(i, i, ata.At(i, i)+lambda)
		atb.SetVec(i, atb.AtVec(i)+lambda*prior[i])
	}
	var ch mat.Cholesky
	if !ch.Factorize(ata) {
		return nil, false
	}
	var x mat.VecDense
	if err := ch.SolveVecTo(&x, atb); err != nil {
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

// registerAt interpolates the continuous register linearly at day position t.
func registerAt(pts []profPoint, t float64) float64 {
	j := sort.Search(len(pts), func(i int) bool { return pts[i].t >= t })
	switch {
	case j == 0:
		return pts[0].c
	case j == len(pts):
		return pts[len(pts)-1].c
	}
	a, b := pts[j-1], pts[j]
	return a.c + (b.c-a.c)*(t-a.t)/(b.t-a.t)
}

// smoothLevel returns per-day use predicted by a monotone cubic (Fritsch–
// Butland) through the register against structural time (the cumulative
// shape), so that the level varies smoothly across readings instead of
// jumping at each one, and the shape modulates it within days.
func (f *profileFit) smoothLevel(pts []profPoint, base []float64, kind int) []float64 {
	l := f.l
	pb := prefixSums(base)
	n := len(pts)
	x := make([]float64, n)
	for i, p := range pts {
		x[i] = l.at(pb, base, p.t)
	}
	y := make([]float64, n)
	for i, p := range pts {
		y[i] = p.c
	}
	var d []float64
	if kind == smoothSpline {
		d = splineSlopes(x, y)
	} else {
		d = pchipSlopes(x, y, pts)
	}
	out := make([]float64, l.n)
	prev := hermiteAt(x, y, d, pb[0])
	for i := range l.n {
		next := hermiteAt(x, y, d, pb[i+1])
		out[i] = math.Max(next-prev, 0)
		prev = next
	}
	return out
}

// pchipSlopes are the Fritsch–Butland derivatives; an unknown interval gets
// zero weight by forcing flat slopes at its ends.
func pchipSlopes(x, y []float64, pts []profPoint) []float64 {
	n := len(x)
	h := make([]float64, n-1)
	del := make([]float64, n-1)
	for i := range n - 1 {
		h[i] = x[i+1] - x[i]
		if h[i] > 0 {
			del[i] = (y[i+1] - y[i]) / h[i]
		}
	}
	d := make([]float64, n)
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
func splineSlopes(x, y []float64) []float64 {
	n := len(x)
	d := make([]float64, n)
	if n == 2 {
		s := (y[1] - y[0]) / (x[1] - x[0])
		d[0], d[1] = s, s
		return d
	}
	h := make([]float64, n-1)
	del := make([]float64, n-1)
	for i := range n - 1 {
		h[i] = x[i+1] - x[i]
		del[i] = (y[i+1] - y[i]) / h[i]
	}
	// Tridiagonal system a·d[i-1] + b·d[i] + c·d[i+1] = r, Thomas algorithm.
	a := make([]float64, n)
	b := make([]float64, n)
	c := make([]float64, n)
	r := make([]float64, n)
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
	j := sort.SearchFloat64s(x, s)
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
// spreading the neighbours' interval in proportion to the candidate's
// cumulative intensity, as BuildDaily does; one per held-out reading, in the
// same order for every candidate.
func (l *profLearner) cvErrors(cfg shapeConfig) []float64 {
	n := len(l.pts)
	var out []float64
	for fold := range 2 {
		var keep, held []int
		for i := range n {
			if i == 0 || i == n-1 || i%2 == fold {
				keep = append(keep, i)
			} else {
				held = append(held, i)
			}
		}
		var v []float64
		if cfg == (shapeConfig{}) {
			v = make([]float64, l.n)
			for i := range v {
				v[i] = 1
			}
		} else {
			v = l.fitShape(keep, cfg).day
		}
		pv := prefixSums(v)
		for _, h := range held {
			a, b, p := l.pts[h-1], l.pts[h+1], l.pts[h]
			if !p.known || !b.known {
				continue
			}
			ia, ib, ip := l.at(pv, v, a.t), l.at(pv, v, b.t), l.at(pv, v, p.t)
			e := b.c - a.c // worst case when the intensity is degenerate
			if ib-ia > 0 {
				e = math.Abs(a.c + (b.c-a.c)*(ip-ia)/(ib-ia) - p.c)
			}
			out = append(out, e)
		}
	}
	return out
}
