package processing

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Anomaly is one unusual event in a meter's use: a day, a reading interval or
// a run of days, reported once however many days it covers.
type Anomaly struct {
	Date        time.Time // first day of the event
	Days        int       // length of the event in days (1 for a day)
	Consumption float64   // use per day over the event (typo: the ignored reading)
	Expected    float64   // expected use per day (typo: the register expected at that time)
	Score       float64   // strength; for consensus |z| of the strongest z test, see MethodProfile
	Tests       []string  // tests or rules that fired, e.g. "zscore", "iqr", "rolling"
	Kind        string    // AnomalySpike, AnomalyDrop, AnomalyStuck, AnomalyLevelShift, AnomalyLeak or AnomalyTypo
	Evidence    string    // what was judged: EvidenceMeasured, EvidenceInterval, EvidenceNight or EvidenceReading
}

// Anomaly kinds.
const (
	AnomalySpike      = "spike"       // use far above expected
	AnomalyDrop       = "drop"        // use far below expected (consensus only)
	AnomalyStuck      = "stuck"       // register unchanged for days while use was expected
	AnomalyLevelShift = "level_shift" // use changed to a new level and stayed there
	AnomalyLeak       = "leak"        // use that never stops: no dry night (or day) for days
	AnomalyTypo       = "typo"        // one reading off in both directions, ignored
)

// Evidence of an anomaly.
const (
	EvidenceMeasured = "measured" // days whose both midnights were read
	EvidenceInterval = "interval" // one value over the days between two readings
	EvidenceNight    = "night"    // sub-daily readings at night
	EvidenceReading  = "reading"  // a single reading
)

// Anomaly methods.
const (
	// MethodConsensus is spec §6 with the W-11 fixes: a value is an anomaly
	// when at least two of the global z-score, the IQR fence and the rolling
	// z-score flag it.
	MethodConsensus = "consensus"
	// MethodProfile judges each value against an expected value from the
	// meter's learned profile and local level, with noise that knows the
	// evidence, and reports the kinds spike, stuck, level_shift, leak and
	// typo, one anomaly per event (see detect.go).
	MethodProfile = "profile"
)

// AnomalyOptions select and tune anomaly detection.
type AnomalyOptions struct {
	Method string // MethodProfile (default when empty) or MethodConsensus
}

// Validate reports an unknown Method (wrapping ErrUnknownMethod).
func (o AnomalyOptions) Validate() error {
	switch o.Method {
	case "", MethodProfile, MethodConsensus:
		return nil
	}
	return fmt.Errorf("%w %q (want %q or %q)", ErrUnknownMethod, o.Method, MethodProfile, MethodConsensus)
}

// Consensus parameters, as spec §6.
const (
	minValues       = 60   // fewer judged values: no detection
	minPositive     = 30   // fewer positive values: no detection
	zLimit          = 3.0  // global z-score
	iqrFence        = 1.5  // IQR fence multiplier
	rollingBefore   = 15   // centred window covers i-15 … i+14
	rollingAfter    = 14   //
	rollingMin      = 10   // least values in a window
	rollingZLimit   = 2.5  // rolling z-score
	denseMedianDays = 1.5  // median reading interval of a meter "read daily"
	denseMaxGapDays = 1.5  // longest reading gap a judged day of such a meter may touch
	minIntervalDays = 0.75 // shorter reading intervals (local days) are merged into the next
)

// sample is one judged value: the use per day over Days days from Date.
type sample struct {
	date  time.Time
	days  int
	value float64
	src   *judgeSource // the meter the value comes from, shared by its samples
}

// judgeSource is what a method beyond the values themselves may look at:
// the meter's daily series and, for a physical meter, its usable readings.
type judgeSource struct {
	days []Day
	loc  *time.Location // the zone of days
	rs   []Reading
	prof *Profile // the meter's learned profile, if Process learned one
}

// DetectAnomalies finds unusual use in a meter's daily series, judged on what
// was measured (W-11):
//
//   - A meter read at least daily (median interval between readings ≤ 1.5
//     days, i.e. at least half of them that short) is judged day by day: each day with known use that is not
//     extrapolated and whose readings are at most 1.5 days apart is a value.
//   - A sparsely read meter is judged interval by interval: each interval
//     between consecutive readings (merged until it spans at least 18 hours)
//     is one value, its average use per day. Days interpolated inside an
//     interval are never judged one by one. Intervals over which the register
//     falls (a reset or rollover) are not judged.
//   - Without readings (master and virtual meters), the days of
//     QualityMeasured are the values.
//
// Extrapolated and unknown days are never judged. The statistics (§6) use the
// positive values only, and only positive values are judged: a day without
// use is an idle day, not a drop (the old detector flagged every zero,
// including its own day-1 and reset artefacts).
//
// loc is the zone whose midnights start the days (nil means UTC). An unknown
// opt.Method returns nil (Process validates it up front).
func DetectAnomalies(days []Day, readings []Reading, loc *time.Location, opt AnomalyOptions) []Anomaly {
	if loc == nil {
		loc = time.UTC
	}
	s, _ := judgedValues(days, usableReadings(days, readings, loc), loc)
	return detect(s, opt)
}

// detect runs the selected method on the judged values. Choosing what is
// judged is shared by every method; a new method adds a case here.
//
// detect consumes s: its array goes back to samplePool, so s must come from
// judgedValues (or newSamples) and must not be used afterwards. No method
// keeps a sample beyond the call.
func detect(s []sample, opt AnomalyOptions) []Anomaly {
	defer releaseSamples(s)
	switch opt.Method {
	case MethodConsensus:
		return consensus(s)
	case "", MethodProfile:
		return profileAnomalies(s)
	}
	return nil
}

// detectMasked is DetectAnomalies for derived meters: the days with
// judge[i] set are the values.
func detectMasked(days []Day, judge []bool, loc *time.Location, opt AnomalyOptions) []Anomaly {
	src := &judgeSource{days: days, loc: loc}
	s := newSamples(len(days))
	dc := dayClock{loc: loc}
	for i, d := range days {
		if judge[i] && judgeable(d) {
			s = append(s, sample{date: dc.midnight(int(d.Date)), days: 1, value: d.Consumption, src: src})
		}
	}
	return detect(s, opt)
}

// samplePool recycles the arrays of judged values between meters (see
// newSamples): a meter judges up to one value a day, of which only its
// anomalies outlive detect, and fresh memory costs more than the judging.
var samplePool = sync.Pool{New: func() any { return new([]sample) }}

// newSamples returns an empty slice with room for n samples, its array
// taken from samplePool when it is long enough (detect gives it back), else
// new with room to spare as grow's.
func newSamples(n int) []sample {
	p := samplePool.Get().(*[]sample)
	if cap(*p) < n {
		return make([]sample, 0, scratchRoom*n)
	}
	return (*p)[:0]
}

// releaseSamples clears s (it points at the meter's days and readings) and
// gives its array back to samplePool.
func releaseSamples(s []sample) {
	if cap(s) == 0 {
		return
	}
	clear(s)
	s = s[:0]
	samplePool.Put(&s)
}

func judgeable(d Day) bool {
	return !math.IsNaN(d.Consumption) && (d.Quality == QualityMeasured || d.Quality == QualityInterpolated)
}

// judgedValues returns the values of a physical meter (or, without readings,
// of a derived one) and the mask of its days judged day by day, which derived
// meters combine: a sparsely read meter has no such day, its days being
// interpolated inside intervals. rs are its usableReadings, loc the zone of
// days. The values' array is samplePool's: detect gives it back.
func judgedValues(days []Day, rs []Reading, loc *time.Location) ([]sample, []bool) {
	s, mask := judgedSamples(days, rs, loc)
	src := &judgeSource{days: days, loc: loc, rs: rs}
	for i := range s {
		s[i].src = src
	}
	return s, mask
}

// judgedSamples is judgedValues without the source. The samples' array is
// samplePool's; the mask is the caller's.
func judgedSamples(days []Day, rs []Reading, loc *time.Location) ([]sample, []bool) {
	var mask []bool
	switch {
	case len(rs) < 2:
		mask = make([]bool, len(days))
		for i, d := range days {
			mask[i] = d.Quality == QualityMeasured && !math.IsNaN(d.Consumption)
		}
	case readDaily(rs):
		mask = denseMask(days, rs, loc)
	default:
		return intervalValues(rs, loc), make([]bool, len(days))
	}
	s := newSamples(len(days))
	dc := dayClock{loc: loc}
	for i, d := range days {
		if mask[i] {
			s = append(s, sample{date: dc.midnight(int(d.Date)), days: 1, value: d.Consumption})
		}
	}
	return s, mask
}

// usableReadings returns the finite readings within the series' span,
// sorted by time, one per instant. The result may share the input's array
// (the usual case: already sorted and clean), so it must not be modified.
func usableReadings(days []Day, readings []Reading, loc *time.Location) []Reading {
	cmp := func(a, b Reading) int { return a.Time.Compare(b.Time) }
	clean := slices.IsSortedFunc(readings, cmp)
	for i := 0; clean && i < len(readings); i++ {
		v := readings[i].Value
		clean = !math.IsNaN(v) && !math.IsInf(v, 0) && (i == 0 || !readings[i].Time.Equal(readings[i-1].Time))
	}
	rs := readings
	if !clean {
		rs = make([]Reading, 0, len(readings))
		for _, r := range readings {
			if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
				rs = append(rs, r)
			}
		}
		slices.SortStableFunc(rs, cmp)
		rs = slices.CompactFunc(rs, func(a, b Reading) bool { return a.Time.Equal(b.Time) })
	}
	if len(days) == 0 {
		return nil // no span: nothing to judge
	}
	first, last := days[0].Date.In(loc), days[len(days)-1].Date.In(loc)
	lo := sort.Search(len(rs), func(i int) bool { return !rs[i].Time.Before(first) })
	hi := sort.Search(len(rs), func(i int) bool { return rs[i].Time.After(last) })
	return rs[lo:hi]
}

// readDaily reports whether the median interval between readings is at
// most denseMedianDays: at least half the intervals are that short. Counting
// avoids sorting the intervals of an hourly meter.
func readDaily(rs []Reading) bool {
	limit := time.Duration(denseMedianDays * float64(24*time.Hour))
	short := 0
	for i := 1; i < len(rs); i++ {
		// rs[i].Time.Sub(rs[i-1].Time) <= limit, without Sub's overflow
		// check (an Add and an Equal): the same answer.
		if !rs[i].Time.After(rs[i-1].Time.Add(limit)) {
			short++
		}
	}
	return 2*short >= len(rs)-1
}

// denseMask marks the days of a densely read meter that may be judged: known,
// not extrapolated, and every reading gap that overlaps the day is short.
func denseMask(days []Day, rs []Reading, loc *time.Location) []bool {
	mask := make([]bool, len(days))
	maxGap := time.Duration(denseMaxGapDays * float64(24*time.Hour))
	dc := dayClock{loc: loc}
	j := 0 // rs[j] is the last reading at or before the day's start
	for i, d := range days {
		if !judgeable(d) || i+1 >= len(days) {
			continue
		}
		start, end := dc.midnight(int(d.Date)), dc.midnight(int(days[i+1].Date))
		for j+1 < len(rs) && !rs[j+1].Time.After(start) {
			j++
		}
		if rs[j].Time.After(start) {
			continue // before the first reading
		}
		ok := false
		for k := j; k+1 < len(rs); k++ {
			if rs[k+1].Time.After(rs[k].Time.Add(maxGap)) { // Sub(…) > maxGap, as in readDaily
				break
			}
			if !rs[k+1].Time.Before(end) {
				ok = true
				break
			}
		}
		mask[i] = ok
	}
	return mask
}

// intervalValues turns a sparse meter's readings into one value per reading
// interval: its average use per local day of loc, in an array of
// samplePool (at most one value per interval).
func intervalValues(rs []Reading, loc *time.Location) []sample {
	s := newSamples(max(len(rs)-1, 0))
	dc := dayClock{loc: loc}
	for i := 0; i+1 < len(rs); {
		k := i + 1
		span := dc.localDays(rs[i].Time, rs[k].Time)
		for k+1 < len(rs) && span < minIntervalDays {
			k++
			span = dc.localDays(rs[i].Time, rs[k].Time)
		}
		if span < minIntervalDays {
			break
		}
		if use := rs[k].Value - rs[i].Value; use >= 0 {
			s = append(s, sample{
				date:  dc.dateMidnight(dc.day(rs[i].Time)),
				days:  max(1, int(math.Round(span))),
				value: use / span,
			})
		}
		i = k
	}
	return s
}

// localDays measures a to b in local calendar days of c.loc by the wall
// clock, so a week from 18:30 to 18:30 is 7 days even across a DST change
// (167 hours): the difference of their local dates plus that of their wall
// clock times (h·3600 + m·60 + s + ns·10⁻⁹) in days.
func (c *dayClock) localDays(a, b time.Time) float64 {
	da, sa := c.wallClock(a)
	db, sb := c.wallClock(b)
	wa := float64(sa) + float64(a.Nanosecond())*1e-9
	wb := float64(sb) + float64(b.Nanosecond())*1e-9
	return float64(db-da) + (wb-wa)/86400
}

// consensus applies spec §6's three tests and keeps values that at least two
// of them flag.
func consensus(s []sample) []Anomaly {
	if len(s) < minValues {
		return nil
	}
	pos := make([]float64, 0, len(s))
	for _, v := range s {
		if v.value > 0 {
			pos = append(pos, v.value)
		}
	}
	if len(pos) < minPositive {
		return nil
	}
	mu, sd := meanStd(pos)
	sorted := slices.Clone(pos)
	sort.Float64s(sorted)
	q1, q3 := quantile7(sorted, 0.25), quantile7(sorted, 0.75)
	iqr := q3 - q1
	lower, upper := q1-iqrFence*iqr, q3+iqrFence*iqr
	expected := quantile7(sorted, 0.5)

	vals := make([]float64, len(s))
	for i, v := range s {
		vals[i] = v.value
	}
	var out []Anomaly
	for i, v := range s {
		if !(v.value > 0) {
			continue
		}
		var tests []string
		score := 0.0
		if sd > 0 {
			if z := (v.value - mu) / sd; math.Abs(z) > zLimit {
				tests = append(tests, "zscore")
				score = max(score, math.Abs(z))
			}
		}
		if v.value < lower || v.value > upper {
			tests = append(tests, "iqr")
		}
		if w := vals[max(0, i-rollingBefore):min(len(vals), i+rollingAfter+1)]; len(w) >= rollingMin {
			if m, d := meanStd(w); d > 0 {
				if rz := (v.value - m) / d; math.Abs(rz) > rollingZLimit {
					tests = append(tests, "rolling")
					score = max(score, math.Abs(rz))
				}
			}
		}
		if len(tests) < 2 {
			continue
		}
		kind := AnomalySpike
		if v.value < expected {
			kind = AnomalyDrop
		}
		evidence := EvidenceMeasured
		if v.days > 1 {
			evidence = EvidenceInterval
		}
		out = append(out, Anomaly{Date: v.date, Days: v.days, Consumption: v.value,
			Expected: expected, Score: score, Tests: tests, Kind: kind, Evidence: evidence})
	}
	return out
}

// meanStd returns the mean and the sample standard deviation (ddof 1), in two
// passes so that a constant window gives exactly 0.
func meanStd(x []float64) (mean, std float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, math.NaN()
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)-1))
}

// quantile7 is the linear-interpolation quantile (Hyndman–Fan type 7, the
// default of numpy and R) of sorted x.
func quantile7(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo+1 >= n {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}
