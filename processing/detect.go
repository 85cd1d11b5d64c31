package processing

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Parameters of MethodProfile. The thresholds are round numbers checked on
// the real series of cmd/anomalybench; they are not fitted to any one meter.
const (
	pmMinValues      = 20     // fewer judged values: no detection
	pmMinSpanDays    = 60     // judged values spanning fewer days: no detection
	pmLevelDays      = 14     // local level: median of the values within ±14 days…
	pmLevelIntervals = 3      // …or ±3 median reading intervals, whichever is longer
	pmScaleDays      = 60     // noise scale: MAD of the residuals within ±60 days…
	pmScaleIntervals = 8      // …or ±8 median reading intervals
	pmMinNeighbours  = 4      // fewer values around: the value is not judged
	pmRelFloor       = 0.05   // the noise scale is at least 5 % of the expected use…
	pmTypicalFloor   = 0.02   // …and 2 % of the meter's typical positive use per day
	madScale         = 1.4826 // MAD to standard deviation of a normal distribution
	iqrScale         = 1.349  // interquartile range to standard deviation

	spikeZ        = 5.0  // a spike is ≥ 5 noise scales above expected…
	spikeRatio    = 2.0  // …and at least twice the expected use
	spikeMinShare = 0.25 // …and at least a quarter of a typical day above it

	stuckMinDays      = 4    // a stuck register shows no change for ≥ 4 days…
	stuckContextDays  = 28   // …while in the 28 days on either side
	stuckMaxZeroShare = 0.1  // at most 10 % of the days had no use…
	stuckCatchUp      = 0.5  // …and the next value catches up ≥ half the missed use
	stuckMinContext   = 7    // days of context needed on one side at least
	stuckCatchUpDays  = 2    // the catching up may spread over the 2 days after the run
	idleShare         = 0.01 // use below 1 % of the typical day counts as none

	shiftDays      = 28   // level shift: medians of the 28 days before and after…
	shiftIntervals = 3    // …or 3 median reading intervals, so one interval is never a level
	shiftCover     = 0.6  // …each window covered by values for ≥ 60 % of its days
	shiftZ         = 6.0  // …differ by ≥ 6 standard errors…
	shiftRatio     = 1.35 // …and by a factor of at least 1.35
	shiftSpread    = 3.0  // …and by 3 times the meter's usual month-to-month change of level
	shiftOffset    = 0.05 // share of the typical level added to both medians before the ratio

	leakMinRun      = 3   // a leak is ≥ 3 consecutive nights (days) with use…
	leakMaxRun      = 45  // …ending within 45 (longer runs are seasons, not leaks) or still going on
	leakContext     = 30  // …where in the 30 nights (days) around
	leakMinDryShare = 0.8 // …at least 80 % were dry
	leakMinContext  = 10  // nights (days) of context needed
	leakSeasonRatio = 1.5 // daily rule: skip runs the profile expects to use 1.5 × more
	nightHours      = 6   // a night is 00:00–06:00 local time
	nightMaxGap     = 2   // hours; longer reading gaps say nothing about a night
	nightMinPairs   = 3   // readings pairs needed to judge a night
	nightMinShare   = 0.5 // share of days with judged nights to use the night rule
)

// pmValue is one judged value with what the profile method knows about it.
type pmValue struct {
	date   time.Time
	dn, k  int     // first civil day and length in days
	v      float64 // use per day
	inten  float64 // mean profile intensity over the days
	u      float64 // v / inten: use on the profile's scale
	level  float64 // local level on the profile's scale (NaN: not judged)
	exp    float64 // expected use per day
	sigma  float64 // noise of one day's use
	masked bool    // part of a stuck or leak event: not a neighbour, not judged again
}

func (p *pmValue) end() int { return p.dn + p.k }

func (p *pmValue) evidence() string {
	if p.k > 1 {
		return EvidenceInterval
	}
	return EvidenceMeasured
}

// profileAnomalies is MethodProfile. The values to judge are chosen as for
// every method (a day of a meter read daily, an interval of a sparse one),
// after ignoring typo readings, which become anomalies of their own. Each
// value's expected use is the meter's local level (a median of the values
// around it, on the scale of the meter's learned profile) times its profile
// intensity, so a seasonal meter is judged against its season. Its noise is
// the robust scale (MAD) of one day's residuals around it; a value over k
// days is one value whose noise is that divided by √k, and interpolated days
// inside it are never judged one by one.
//
// Kinds, in the order they are looked for (days of an event found earlier
// take no part in the later rules):
//   - typo: a reading off in both directions, as BuildDaily ignores it;
//     Score is how many of its neighbours' intervals of use it is off;
//   - stuck: no use for ≥ 4 days of a meter that had no use on at most 10 %
//     of the 28 days on either side, ended by a value that catches up at
//     least half of the missed use (or still going on at the end); Days
//     include the catching-up value; Score is the missed use in noise scales;
//   - leak: with sub-daily readings, ≥ 3 consecutive nights whose lowest
//     use rate never reached zero, of a meter dry on ≥ 80 % of the 30 nights
//     around; without them the same on days; Score is −log10 of the chance
//     of so many wet nights in a row;
//   - spike: use ≥ 5 noise scales above expected and at least twice it;
//     consecutive spike values are one event; Score is the largest z;
//   - level_shift: the medians of the 28 days before and after a day differ
//     by ≥ 6 standard errors and a factor of 1.35; one event per change;
//     Days is the window after it; Score is |z|.
//
// Zero use is never a spike and never alarms on its own: only the stuck
// rule looks at it, and only against a meter that almost always uses.
func profileAnomalies(s []sample) []Anomaly {
	if len(s) == 0 || s[0].src == nil || len(s[0].src.days) == 0 {
		return nil
	}
	src := s[0].src
	loc := src.loc
	var out []Anomaly
	rs := src.rs
	if len(rs) >= 3 && hasTypo(rs) {
		clean, events := dropTypos(slices.Clone(rs), nil, loc)
		if len(events) > 0 {
			out = append(out, typoAnomalies(rs, clean, events, loc)...)
			s, _ = judgedSamples(src.days, clean, loc)
			defer releaseSamples(s) // detect releases the samples it was given
		}
		rs = clean
	}
	// Learning the profile is the expensive part: skip it when there are too
	// few values to judge anyway (newPMValues never adds values).
	if len(s) < pmMinValues {
		return out
	}
	sc := pmScratchPool.Get().(*pmScratch)
	defer pmScratchPool.Put(sc)
	prof := src.prof
	if prof == nil {
		prof = learnAnomalyProfile(src.days, rs, loc, sc)
		defer prof.release() // newPMValues is its only user
	}
	vs := newPMValues(s, prof, sc)
	if len(vs) < pmMinValues || vs[len(vs)-1].end()-vs[0].dn < pmMinSpanDays {
		return out
	}
	typical := typicalUse(vs, sc)
	if !(typical > 0) {
		return out
	}
	medK := medianDays(vs, sc)
	out = append(out, stuckRuns(vs, medK, typical)...)
	out = append(out, leaks(vs, rs, loc, sc)...)
	localLevels(vs, medK, typical, sc)
	out = append(out, spikes(vs, typical)...)
	out = append(out, levelShifts(vs, medK, typical, sc)...)
	slices.SortStableFunc(out, func(a, b Anomaly) int { return a.Date.Compare(b.Date) })
	return out
}

// pmScratch holds profileAnomalies' buffers, reused from one meter to the
// next (pmScratchPool) instead of allocated anew: a house judges dozens of
// meters, and fresh memory costs more than the work. Nothing in it outlives
// the call that got it.
type pmScratch struct {
	vs     []pmValue
	pseudo []Reading // learnAnomalyProfile's register
	xs     []wv
	us     []float64
	dev    []float64
	ratios []float64
	ks     []int
	units  []leakUnit
	inten  []float64
	win    [2]sortedWindow
}

var pmScratchPool = sync.Pool{New: func() any { return new(pmScratch) }}

// hasTypo reports whether dropTypos would drop a reading: until it drops
// the first, its previous reading is the raw one.
func hasTypo(rs []Reading) bool {
	for i := 1; i+1 < len(rs); i++ {
		if isTypo(rs[i-1].Value, rs[i].Value, rs[i+1].Value) {
			return true
		}
	}
	return false
}

// learnAnomalyProfile learns the meter's shape of use without the smooth
// level through its readings: that level follows every reading, anomalies
// included, while the anomalies are to be judged against the shape.
func learnAnomalyProfile(days []Day, rs []Reading, loc *time.Location, sc *pmScratch) *Profile {
	opt := ProfileOptions{Location: loc, NoSmooth: true}
	if len(rs) >= 2 {
		return LearnProfile(rs, opt)
	}
	// Derived meters: a register summed from their known days.
	pseudo := slices.Grow(sc.pseudo[:0], len(days)+1) // sized once: no copies while it grows
	dc := dayClock{loc: loc}
	c := 0.0
	for _, d := range days {
		if math.IsNaN(d.Consumption) || d.Quality == QualityUnknown {
			continue
		}
		pseudo = append(pseudo, Reading{Time: dc.midnight(int(d.Date)), Value: c})
		c += max(d.Consumption, 0)
	}
	if n := len(pseudo); n > 0 {
		last := dc.midnight(int(days[len(days)-1].Date))
		if last.After(pseudo[n-1].Time) {
			pseudo = append(pseudo, Reading{Time: last, Value: c})
		}
	}
	sc.pseudo = pseudo // LearnProfile keeps none of them
	return LearnProfile(pseudo, opt)
}

func newPMValues(s []sample, prof *Profile, sc *pmScratch) []pmValue {
	vs := slices.Grow(sc.vs[:0], len(s))
	var dc dayClock // dateOf(x.date): the day of x.date in its own location
	for _, x := range s {
		if math.IsNaN(x.value) || math.IsInf(x.value, 0) || x.days < 1 {
			continue
		}
		if loc := x.date.Location(); loc != dc.loc {
			dc = dayClock{loc: loc}
		}
		p := pmValue{date: x.date, dn: dc.day(x.date), k: x.days, v: x.value, inten: 1, level: math.NaN()}
		if prof != nil && prof.shape != nil {
			sum := 0.0
			for i := range p.k {
				sum += prof.shapeDay(p.dn + i)
			}
			p.inten = max(sum/float64(p.k), intensityFloor)
		}
		p.u = p.v / p.inten
		vs = append(vs, p)
	}
	sc.vs = vs
	slices.SortStableFunc(vs, func(a, b pmValue) int { return a.dn - b.dn })
	return vs
}

// typicalUse is the median positive use per day, weighted by days.
func typicalUse(vs []pmValue, sc *pmScratch) float64 {
	xs := sc.xs[:0]
	unit := true // every value is of one day
	for _, p := range vs {
		if p.v > 0 {
			xs = append(xs, wv{p.v, float64(p.k)})
			unit = unit && p.k == 1
		}
	}
	sc.xs = xs
	if !unit {
		return weightedMedian(xs)
	}
	// Of weight 1 the weighted median is unitMedian, which selection finds
	// without sorting (the values are positive: no zero to differ in sign).
	us := grow(&sc.us, len(xs))
	for i, x := range xs {
		us[i] = x.x
	}
	return selectMedian(us)
}

func medianDays(vs []pmValue, sc *pmScratch) int {
	ks := grow(&sc.ks, len(vs))
	for i, p := range vs {
		ks[i] = p.k
	}
	slices.Sort(ks)
	return ks[len(ks)/2]
}

// wv is a value with a weight.
type wv struct{ x, w float64 }

// weightedMedian sorts xs and returns the value at half the total weight
// (NaN when empty).
func weightedMedian(xs []wv) float64 { return weightedQuantile(xs, 0.5) }

// weightedQuantile sorts xs and returns the value at share p of the total
// weight (NaN when empty).
func weightedQuantile(xs []wv, p float64) float64 {
	slices.SortFunc(xs, func(a, b wv) int { return cmp.Compare(a.x, b.x) })
	return sortedQuantile(xs, p)
}

// sortedQuantile is weightedQuantile of xs sorted by x: the midpoint when p
// falls exactly between two values.
func sortedQuantile(xs []wv, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	total := 0.0
	for _, x := range xs {
		total += x.w
	}
	acc := 0.0
	for i, x := range xs {
		acc += x.w
		if acc > p*total {
			return x.x
		}
		if acc == p*total && i+1 < len(xs) {
			return (x.x + xs[i+1].x) / 2
		}
	}
	return xs[len(xs)-1].x
}

// sortedAt is the value slices.Sort(xs) puts at k, found by selection
// (nthSmallest) instead of a sort unless xs holds a NaN; sorted reports
// that xs was sorted. It reorders xs. Where the value is a zero, its sign
// may differ from the sort's: the sort does not order -0 and +0.
func sortedAt(xs []float64, k int) (v float64, sorted bool) {
	if slices.ContainsFunc(xs, math.IsNaN) {
		slices.Sort(xs)
		return xs[k], true
	}
	return nthSmallest(xs, k), false
}

// selectMedian is unitMedian of xs sorted, found as sortedAt finds a value:
// selection leaves the values below the middle one before it, so the lower
// of the middle two is the largest of those. It reorders xs; a zero's sign
// may differ from the sort's.
func selectMedian(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	hi, sorted := sortedAt(xs, n/2)
	switch {
	case n%2 == 1:
		return hi
	case sorted:
		return (xs[n/2-1] + hi) / 2
	}
	lo := xs[0]
	for _, x := range xs[1 : n/2] {
		lo = max(lo, x)
	}
	return (lo + hi) / 2
}

// unitMedian is weightedMedian of sorted values of weight 1: the middle one,
// or the midpoint of the middle two.
func unitMedian(xs []float64) float64 {
	n := len(xs)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// window returns the index range [lo, hi) of the values whose days lie
// within [from, to).
func window(vs []pmValue, from, to int) (int, int) {
	lo := firstFrom(vs, from)
	hi := lo + firstFrom(vs[lo:], to)
	for hi > lo && vs[hi-1].end() > to {
		hi--
	}
	return lo, hi
}

// windowCursor is window for bounds that move little from one call to the
// next (windows around the values in order): it steps from its last answers
// instead of searching.
type windowCursor struct {
	vs     []pmValue
	lo, hi int // firstFrom of the last from and to
}

// step moves *i to firstFrom(c.vs, dn).
func (c *windowCursor) step(i *int, dn int) int {
	for *i > 0 && c.vs[*i-1].dn >= dn {
		*i--
	}
	for *i < len(c.vs) && c.vs[*i].dn < dn {
		*i++
	}
	return *i
}

// window is window(c.vs, from, to): firstFrom(vs[lo:], to) is the later of
// lo and firstFrom(vs, to), the values being sorted by day.
func (c *windowCursor) window(from, to int) (int, int) {
	vs := c.vs
	lo := c.step(&c.lo, from)
	hi := max(lo, c.step(&c.hi, to))
	for hi > lo && vs[hi-1].end() > to {
		hi--
	}
	return lo, hi
}

// firstFrom is the first index whose value starts on day dn or later.
func firstFrom(vs []pmValue, dn int) int {
	lo, hi := 0, len(vs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if vs[m].dn < dn {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// stuckRuns finds registers that stood still (see profileAnomalies) and masks
// their values. A day counts as without use below idleShare of the typical
// day: a register read at 00:04 leaves a few minutes of use on the first
// day of a stand-still.
func stuckRuns(vs []pmValue, medK int, typical float64) []Anomaly {
	var out []Anomaly
	ctx := max(stuckContextDays, 2*medK)
	idle := func(p pmValue) bool { return !(p.v > idleShare*typical) }
	for i := 0; i < len(vs); {
		if !idle(vs[i]) {
			i++
			continue
		}
		j := i + 1 // vs[i:j] is a run of contiguous values without use
		for j < len(vs) && idle(vs[j]) && vs[j].dn == vs[j-1].end() {
			j++
		}
		if vs[j-1].end()-vs[i].dn >= stuckMinDays {
			if a, ok := stuckEvent(vs, i, j, idle, ctx); ok {
				out = append(out, a.Anomaly)
				for m := i; m < a.lastValue; m++ {
					vs[m].masked = true
				}
			}
		}
		i = j
	}
	return out
}

// stuckFound is a stuck event and the index after its last value.
type stuckFound struct {
	Anomaly
	lastValue int
}

// stuckEvent judges the run vs[i:j] of values without use. The values that
// may catch up follow it directly, within stuckCatchUpDays (one value at
// least).
func stuckEvent(vs []pmValue, i, j int, idle func(pmValue) bool, ctx int) (stuckFound, bool) {
	start, end := vs[i].dn, vs[j-1].end()
	c := j
	for c < len(vs) && vs[c].dn == vs[c-1].end() && (c == j || vs[c].end() <= end+stuckCatchUpDays) {
		c++
	}
	after := end
	if c > j {
		after = vs[c-1].end()
	}
	var us []wv
	zero, days := 0.0, 0.0
	add := func(lo, hi int) {
		for _, p := range vs[lo:hi] {
			us = append(us, wv{p.u, float64(p.k)})
			days += float64(p.k)
			if idle(p) {
				zero += float64(p.k)
			}
		}
	}
	blo, bhi := window(vs, start-ctx, start)
	alo, ahi := window(vs, after, after+ctx)
	add(blo, bhi)
	add(alo, ahi)
	if days < stuckMinContext || zero > stuckMaxZeroShare*days {
		return stuckFound{}, false
	}
	level := weightedMedian(us)
	missed := 0.0
	for _, p := range vs[i:j] {
		missed += (level*p.inten - p.v) * float64(p.k)
	}
	if !(missed > 0) {
		return stuckFound{}, false
	}
	// The noise of the context around its level, for the score.
	devs := make([]wv, 0, len(us))
	for _, x := range us {
		devs = append(devs, wv{math.Abs(x.x-level) * math.Sqrt(x.w), 1})
	}
	sigma := math.Max(madScale*weightedMedian(devs), pmRelFloor*level) * vs[i].inten
	a := stuckFound{Anomaly: Anomaly{
		Date: vs[i].date, Days: end - start, Expected: missed / float64(end-start),
		Tests: []string{"zero_run"}, Kind: AnomalyStuck, Evidence: vs[i].evidence(),
	}, lastValue: j}
	for _, p := range vs[i:j] {
		a.Consumption += p.v * float64(p.k) / float64(end-start)
	}
	if sigma > 0 {
		a.Score = missed / (sigma * math.Sqrt(float64(end-start)))
	}
	if c == j {
		// Nothing after the run: still standing at the end of the data.
		return a, j == len(vs)
	}
	// The event ends with the value that completes the catching up.
	excess, use, caught := 0.0, 0.0, false
	for m, p := range vs[j:c] {
		excess += (p.v - level*p.inten) * float64(p.k)
		use += p.v * float64(p.k)
		if excess >= stuckCatchUp*missed {
			c, caught = j+m+1, true
			break
		}
	}
	if !caught {
		return stuckFound{}, false
	}
	a.Consumption = (a.Consumption*float64(a.Days) + use) / float64(vs[c-1].end()-start)
	a.Days = vs[c-1].end() - start
	a.Tests = append(a.Tests, "catch_up")
	a.lastValue = c
	return a, true
}

// localLevels sets each value's level, expected use and noise scale from
// the unmasked values around it.
func localLevels(vs []pmValue, medK int, typical float64, sc *pmScratch) {
	hl := max(pmLevelDays, pmLevelIntervals*medK)
	hs := max(pmScaleDays, pmScaleIntervals*medK)
	// Each value's neighbours are a window that moves along the values:
	// kept sorted, a window's median costs a scan instead of a sort.
	w := &sc.win[0]
	w.reset(len(vs), func(i int) (wv, bool) {
		return wv{vs[i].u, float64(vs[i].k)}, !vs[i].masked
	})
	wc := windowCursor{vs: vs}
	for j := range vs {
		p := &vs[j]
		w.moveTo(wc.window(p.dn-hl, p.end()+hl))
		if w.count(j) < pmMinNeighbours {
			continue
		}
		p.level = w.quantile(0.5, j)
		p.exp = p.level * p.inten
	}
	w.reset(len(vs), func(i int) (wv, bool) {
		q := &vs[i]
		return wv{(q.v - q.exp) * math.Sqrt(float64(q.k)), 1}, !q.masked && !math.IsNaN(q.level)
	})
	wc = windowCursor{vs: vs}
	for j := range vs {
		p := &vs[j]
		if math.IsNaN(p.level) {
			continue
		}
		w.moveTo(wc.window(p.dn-hs, p.end()+hs))
		if w.count(j) < pmMinNeighbours {
			p.level = math.NaN()
			w.drop(j) // no longer a neighbour of the values after it
			continue
		}
		// The interquartile range, not the MAD: a meter that uses on one day
		// in three has a median residual of 0 but is not noiseless.
		at := w.skipAt(j)
		iqr := w.quantileAt(0.75, at) - w.quantileAt(0.25, at)
		p.sigma = max(iqr/iqrScale, pmRelFloor*p.exp, pmTypicalFloor*typical)
	}
}

// sortedWindow holds the weighted values of the indices [lo, hi) that
// qualify, sorted by value, as the window moves.
type sortedWindow struct {
	xs      []wv // sorted by x (cmp.Compare's order: NaN first)
	total   float64
	nonUnit int    // values in xs whose weight is not 1
	in      []bool // index i's value is in xs…
	vals    []wv   // …with this value
	value   func(i int) (wv, bool)
	lo, hi  int
}

// reset makes w an empty window over n indices valued by value, keeping its
// buffers.
func (w *sortedWindow) reset(n int, value func(i int) (wv, bool)) {
	w.xs, w.total, w.nonUnit = w.xs[:0], 0, 0
	w.in = grow(&w.in, n)
	clear(w.in)
	w.vals = grow(&w.vals, n) // read only where in
	w.value, w.lo, w.hi = value, 0, 0
}

// moveTo makes the window [lo, hi).
func (w *sortedWindow) moveTo(lo, hi int) {
	if lo >= w.hi || hi <= w.lo { // disjoint: start over
		for i := w.lo; i < w.hi; i++ {
			w.drop(i)
		}
		w.lo, w.hi = lo, lo
	}
	for ; w.lo > lo; w.lo-- {
		w.add(w.lo - 1)
	}
	for ; w.hi < hi; w.hi++ {
		w.add(w.hi)
	}
	for ; w.lo < lo; w.lo++ {
		w.drop(w.lo)
	}
	for ; w.hi > hi; w.hi-- {
		w.drop(w.hi - 1)
	}
}

// lowerBound is the first position in xs whose value is not below x, in
// cmp.Compare's order, searched by hand: the generic search with a compare
// function was a tenth of a large house's processing.
func lowerBound(xs []wv, x float64) int {
	lo, hi := 0, len(xs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cmp.Less(xs[m].x, x) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (w *sortedWindow) add(i int) {
	v, ok := w.value(i)
	if !ok {
		return
	}
	w.xs = slices.Insert(w.xs, lowerBound(w.xs, v.x), v)
	w.total += v.w
	if v.w != 1 {
		w.nonUnit++
	}
	w.in[i], w.vals[i] = true, v
}

// drop takes index i's value out of the window, if it is in.
func (w *sortedWindow) drop(i int) {
	if !w.in[i] {
		return
	}
	k := w.find(i)
	w.xs = slices.Delete(w.xs, k, k+1)
	w.total -= w.vals[i].w
	if w.vals[i].w != 1 {
		w.nonUnit--
	}
	w.in[i] = false
}

// find returns the position in xs of index i's value. Values are matched
// bit for bit: a NaN, which == never matches, is found too.
func (w *sortedWindow) find(i int) int {
	v := w.vals[i]
	k := lowerBound(w.xs, v.x)
	for !sameWV(w.xs[k], v) {
		k++
	}
	return k
}

func sameWV(a, b wv) bool {
	return math.Float64bits(a.x) == math.Float64bits(b.x) && math.Float64bits(a.w) == math.Float64bits(b.w)
}

// has reports whether index i's value is in the window (false for i < 0).
func (w *sortedWindow) has(i int) bool { return i >= 0 && w.in[i] }

// count is the number of values in the window other than index skip's.
func (w *sortedWindow) count(skip int) int {
	if w.has(skip) {
		return len(w.xs) - 1
	}
	return len(w.xs)
}

// skipAt returns the position in xs of index skip's value, or -1 when it is
// not in the window, for quantileAt.
func (w *sortedWindow) skipAt(skip int) int {
	if w.has(skip) {
		return w.find(skip)
	}
	return -1
}

// quantile is sortedQuantile of the window without index skip's value
// (skip < 0: all of it).
func (w *sortedWindow) quantile(p float64, skip int) float64 {
	return w.quantileAt(p, w.skipAt(skip))
}

// quantileAt is sortedQuantile of the window without the value at position
// at of xs (at < 0: all of it).
func (w *sortedWindow) quantileAt(p float64, at int) float64 {
	xs, total := w.xs, w.total
	n := len(xs)
	unit := w.nonUnit
	if at >= 0 {
		n--
		total -= xs[at].w
		if xs[at].w != 1 {
			unit--
		}
	}
	if n == 0 {
		return math.NaN()
	}
	if unit == 0 {
		// Unit weights: sortedQuantile's walk reaches total share p at the
		// value numbered p·n, so it is looked up (the same value, and the
		// same midpoint when p·n is whole).
		x := func(i int) float64 {
			if at >= 0 && i >= at {
				i++
			}
			return xs[i].x
		}
		target := p * float64(n)
		m := int(target)
		switch {
		case float64(m) != target || m == 0:
			return x(min(m, n-1))
		case m < n:
			return (x(m-1) + x(m)) / 2
		}
		return x(n - 1)
	}
	// The same walk as sortedQuantile, stepping over position at.
	next := func(i int) int {
		i++
		if i == at {
			i++
		}
		return i
	}
	acc := 0.0
	last := -1
	for i := next(-1); i < len(xs); i = next(i) {
		acc += xs[i].w
		if acc > p*total {
			return xs[i].x
		}
		if j := next(i); acc == p*total && j < len(xs) {
			return (xs[i].x + xs[j].x) / 2
		}
		last = i
	}
	return xs[last].x
}

// spikes flags values far above expected, one event per run of contiguous
// flagged values.
func spikes(vs []pmValue, typical float64) []Anomaly {
	var out []Anomaly
	var cur *Anomaly
	curEnd := 0
	for j := range vs {
		p := &vs[j]
		if p.masked || math.IsNaN(p.level) || !(p.v > 0) {
			continue
		}
		z := (p.v - p.exp) * math.Sqrt(float64(p.k)) / p.sigma
		// The excess must be at least (spikeRatio−1) expected days in total:
		// twice the expected use on a day, less per day over an interval;
		// and a quarter of a typical day when hardly any use is expected
		// (an empty house running a tap is not worth an alert).
		if z < spikeZ || (p.v-p.exp)*float64(p.k) < (spikeRatio-1)*max(p.exp, spikeMinShare*typical) {
			continue
		}
		if cur != nil && p.dn == curEnd {
			total := cur.Consumption*float64(cur.Days) + p.v*float64(p.k)
			exp := cur.Expected*float64(cur.Days) + p.exp*float64(p.k)
			cur.Days += p.k
			cur.Consumption, cur.Expected = total/float64(cur.Days), exp/float64(cur.Days)
			cur.Score = math.Max(cur.Score, z)
			if p.k > 1 {
				cur.Evidence = EvidenceInterval
			}
			curEnd = p.end()
			continue
		}
		out = append(out, Anomaly{Date: p.date, Days: p.k, Consumption: p.v, Expected: p.exp, Score: z,
			Tests: []string{"profile_z"}, Kind: AnomalySpike, Evidence: p.evidence()})
		cur, curEnd = &out[len(out)-1], p.end()
	}
	return out
}

// levelShifts compares the median use (on the profile's scale) of the days
// before and after each value's first day; one event per cluster of days
// where the change is significant, at its strongest day.
func levelShifts(vs []pmValue, medK int, typical float64, sc *pmScratch) []Anomaly {
	w := max(shiftDays, shiftIntervals*medK)
	us := sc.us[:0]
	for _, p := range vs {
		if !p.masked {
			us = append(us, p.u)
		}
	}
	sc.us = us
	if len(us) == 0 {
		return nil
	}
	// The value a sort puts in the middle (a zero's sign does not matter:
	// the offset of a zero median is replaced below).
	mid, _ := sortedAt(us, len(us)/2)
	offset := shiftOffset * mid
	if !(offset > 0) {
		offset = shiftOffset * typical
	}
	type cand struct {
		j        int
		z, r     float64 // z statistic and log ratio of the medians
		mB       float64
		from, to int // after-window values
	}
	var cands []cand
	// Both have unit weights: sorted as plain numbers, their medians are
	// looked up (unitMedian).
	dev, ratios := sc.dev[:0], sc.ratios[:0]
	defer func() { sc.dev, sc.ratios = dev, ratios }()
	// The windows before and after each day move along the values: kept
	// sorted, their medians cost a scan instead of a sort.
	value := func(i int) (wv, bool) { return wv{vs[i].u, float64(vs[i].k)}, !vs[i].masked }
	bc, ac := windowCursor{vs: vs}, windowCursor{vs: vs}
	bwin, awin := &sc.win[0], &sc.win[1]
	bwin.reset(len(vs), value)
	awin.reset(len(vs), value)
	for j := range vs {
		t := vs[j].dn
		blo, bhi := bc.window(t-w, t)
		alo, ahi := ac.window(t, t+w)
		bwin.moveTo(blo, bhi)
		awin.moveTo(alo, ahi)
		nB, nA := bwin.total, awin.total // days covered by unmasked values
		if nB < shiftCover*float64(w) || nA < shiftCover*float64(w) {
			continue
		}
		mB, mA := bwin.quantile(0.5, -1), awin.quantile(0.5, -1)
		r := math.Log((mA + offset) / (mB + offset))
		ratios = append(ratios, math.Abs(r))
		if math.Abs(r) < math.Log(shiftRatio) {
			continue
		}
		dev = dev[:0]
		for _, x := range bwin.xs {
			dev = append(dev, math.Abs(x.x-mB)*math.Sqrt(x.w))
		}
		for _, x := range awin.xs {
			dev = append(dev, math.Abs(x.x-mA)*math.Sqrt(x.w))
		}
		slices.Sort(dev)
		sd := max(madScale*unitMedian(dev), pmRelFloor*math.Max(mA, mB), pmTypicalFloor*offset/shiftOffset)
		se := 1.2533 * sd * math.Sqrt(1/nB+1/nA)
		if z := (mA - mB) / se; math.Abs(z) >= shiftZ {
			cands = append(cands, cand{j: j, z: z, r: r, mB: mB, from: alo, to: ahi})
		}
	}
	// A heating meter's level swings with the weather from month to month
	// far more than the profile's average season: only a change well beyond
	// the meter's usual swings is a shift.
	usual := madScale * selectMedian(ratios) // |r| has no -0
	cands = slices.DeleteFunc(cands, func(c cand) bool { return math.Abs(c.r) < shiftSpread*usual })
	var out []Anomaly
	for i := 0; i < len(cands); {
		best := i
		k := i + 1
		for k < len(cands) && vs[cands[k].j].dn <= vs[cands[k-1].j].dn+w/2 &&
			(cands[k].z > 0) == (cands[i].z > 0) {
			if math.Abs(cands[k].z) > math.Abs(cands[best].z) {
				best = k
			}
			k++
		}
		c := cands[best]
		p := vs[c.j]
		use, exp, days := 0.0, 0.0, 0
		ev := EvidenceMeasured
		for _, q := range vs[c.from:c.to] {
			use += q.v * float64(q.k)
			exp += c.mB * q.inten * float64(q.k)
			days += q.k
			if q.k > 1 {
				ev = EvidenceInterval
			}
		}
		out = append(out, Anomaly{Date: p.date, Days: vs[c.to-1].end() - p.dn,
			Consumption: use / float64(days), Expected: exp / float64(days), Score: math.Abs(c.z),
			Tests: []string{"median_shift"}, Kind: AnomalyLevelShift, Evidence: ev})
		i = k
	}
	return out
}

// typoAnomalies turns dropTypos' events into anomalies: the ignored reading
// and the register expected at its time from the clean readings around it.
func typoAnomalies(raw, clean []Reading, events []Event, loc *time.Location) []Anomaly {
	out := make([]Anomaly, 0, len(events))
	for _, e := range events {
		i := sort.Search(len(raw), func(i int) bool { return !raw[i].Time.Before(e.Time) })
		if i == len(raw) || !raw[i].Time.Equal(e.Time) {
			continue
		}
		j := sort.Search(len(clean), func(i int) bool { return clean[i].Time.After(e.Time) })
		if j == 0 || j == len(clean) {
			continue
		}
		a, b := clean[j-1], clean[j]
		f := float64(e.Time.Sub(a.Time)) / float64(b.Time.Sub(a.Time))
		exp := a.Value + f*(b.Value-a.Value)
		score := math.Inf(1)
		if d := b.Value - a.Value; d > 0 {
			score = math.Abs(raw[i].Value-exp) / d
		}
		out = append(out, Anomaly{Date: midnight(dayIn(e.Time, loc), loc), Days: 1,
			Consumption: raw[i].Value, Expected: exp, Score: score,
			Tests: []string{"reading_order"}, Kind: AnomalyTypo, Evidence: EvidenceReading})
	}
	return out
}

// leakUnit is one night (or day) for the leak rule.
type leakUnit struct {
	dn    int
	dry   bool    // use stopped at some point
	floor float64 // lowest use rate per day
	inten float64
}

// leaks finds runs of nights (with sub-daily readings) or days (without)
// where use never stopped, of a meter that is normally dry, and masks the
// values they cover.
func leaks(vs []pmValue, rs []Reading, loc *time.Location, sc *pmScratch) []Anomaly {
	units, ev := nightUnits(vs, rs, loc, sc), EvidenceNight
	if units == nil {
		ev = EvidenceMeasured
		units = sc.units[:0]
		for _, p := range vs {
			if p.k == 1 {
				units = append(units, leakUnit{dn: p.dn, dry: !(p.v > 0), floor: p.v, inten: p.inten})
			}
		}
		sc.units = units
		if len(units) < len(vs)/2 {
			return nil
		}
	}
	var out []Anomaly
	for i := 0; i < len(units); {
		if units[i].dry {
			i++
			continue
		}
		j := i + 1
		for j < len(units) && !units[j].dry && units[j].dn == units[j-1].dn+1 {
			j++
		}
		n := j - i
		ended := j < len(units) && units[j].dn == units[j-1].dn+1 // followed by a dry unit
		if n >= leakMinRun && ((ended && n <= leakMaxRun) || j == len(units)) {
			if a, ok := leakEvent(units, i, j, ev, loc); ok {
				out = append(out, a)
				for m := range vs {
					if vs[m].end() > units[i].dn && vs[m].dn <= units[j-1].dn {
						vs[m].masked = true
					}
				}
			}
		}
		i = j
	}
	return out
}

func leakEvent(units []leakUnit, i, j int, ev string, loc *time.Location) (Anomaly, bool) {
	start, end := units[i].dn, units[j-1].dn+1
	dry, total, ctxInten := 0.0, 0.0, 0.0
	lo := sort.Search(len(units), func(k int) bool { return units[k].dn >= start-leakContext })
	for k := lo; k < len(units) && units[k].dn < end+leakContext; k++ {
		if k >= i && k < j {
			continue
		}
		total++
		ctxInten += units[k].inten
		if units[k].dry {
			dry++
		}
	}
	if total < leakMinContext || dry < leakMinDryShare*total {
		return Anomaly{}, false
	}
	floor, runInten := math.Inf(1), 0.0
	for _, u := range units[i:j] {
		floor = math.Min(floor, u.floor)
		runInten += u.inten
	}
	if ev == EvidenceMeasured && runInten/float64(j-i) > leakSeasonRatio*ctxInten/total {
		return Anomaly{}, false // the season, not a leak
	}
	wet := math.Max(1-dry/total, 1/(total+1))
	return Anomaly{
		Date: midnight(start, loc), Days: end - start, Consumption: floor, Expected: 0,
		Score: -float64(j-i) * math.Log10(wet), Tests: []string{"never_dry"}, Kind: AnomalyLeak, Evidence: ev,
	}, true
}

// nightUnits returns the meter's judged nights when most of its days have
// one, or nil. A night is judged from the readings pairs at most nightMaxGap
// hours apart within 00:00–06:00; it is dry when one of them shows no use,
// and its floor is the lowest rate, per day.
func nightUnits(vs []pmValue, rs []Reading, loc *time.Location, sc *pmScratch) []leakUnit {
	if len(rs) < 2 || len(vs) == 0 {
		return nil
	}
	span := dayIn(rs[len(rs)-1].Time, loc) - dayIn(rs[0].Time, loc) + 1
	units := sc.units[:0]
	maxGap := time.Duration(nightMaxGap * float64(time.Hour))
	dc := dayClock{loc: loc}
	for i := 0; i+1 < len(rs); {
		dn := dc.day(rs[i].Time)
		from := dc.midnight(dn)
		to := from.Add(nightHours * time.Hour)
		pairs, dry, floor := 0, false, math.Inf(1)
		k := i
		for ; k+1 < len(rs) && dc.day(rs[k].Time) == dn; k++ {
			a, b := rs[k], rs[k+1]
			if a.Time.Before(from) || b.Time.After(to) {
				continue
			}
			gap := b.Time.Sub(a.Time)
			if gap > maxGap {
				continue
			}
			pairs++
			rate := (b.Value - a.Value) / gap.Hours() * 24
			floor = math.Min(floor, rate)
			if !(b.Value > a.Value) {
				dry = true
			}
		}
		if pairs >= nightMinPairs {
			units = append(units, leakUnit{dn: dn, dry: dry, floor: floor, inten: 1})
		}
		if k == i {
			k++
		}
		i = k
	}
	sc.units = units
	if float64(len(units)) < nightMinShare*float64(span) {
		return nil
	}
	// The values' intensity by day, from the first value's day on (values
	// are sorted by day; days without one count as 1).
	first, last := vs[0].dn, 0
	for _, p := range vs {
		last = max(last, p.end())
	}
	inten := grow(&sc.inten, last-first)
	for i := range inten {
		inten[i] = math.NaN()
	}
	for _, p := range vs {
		for d := p.dn; d < p.end(); d++ {
			inten[d-first] = p.inten
		}
	}
	for u := range units {
		if i := units[u].dn - first; i >= 0 && i < len(inten) && !math.IsNaN(inten[i]) {
			units[u].inten = inten[i]
		}
	}
	return units
}
