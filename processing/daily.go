package processing

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// DailyOptions control how BuildDaily turns readings into a daily series.
type DailyOptions struct {
	Location *time.Location // day boundaries are this zone's midnights (required)

	// From and To are the first and last local midnights the output may hold
	// (inclusive). To is usually today's midnight. Zero From (and zero
	// Installed) starts the series at the first midnight at or after the first
	// reading; zero To (and zero Removed) ends it at the last midnight at or
	// before the last reading.
	//
	// From, To, Installed and Removed are read as calendar dates: the date
	// each shows in its own location names the day in Location, so a UTC
	// midnight and a local midnight of the same date are equivalent.
	From, To time.Time

	// Installed is the meter's first day of use (local midnight), zero when unknown.
	// Removed is its last day of use, zero while installed; the series then ends
	// at the midnight after Removed.
	Installed, Removed time.Time

	// Pattern, when set, shapes extrapolation beyond the readings (spec §2.6
	// [FIX]) when Intensity is nil. Its shares need not be normalised.
	Pattern *Pattern

	// Intensity, when set, gives the relative use of a local day (1 = average;
	// only ratios matter). It is called once per local day of the span the
	// series needs, with that day's first instant in Location, and must be
	// pure. Negative results count as 0, NaN and infinities as 1.
	//
	// It shapes both the spreading of an interval's total over its days and
	// extrapolation: within a day use accrues evenly in time, so a day gets
	// Intensity(day) of weight however many hours it has. Between two
	// readings their difference is divided in proportion to weight; if the
	// interval has no weight at all it falls back to time-linear. Seasonal,
	// weekday and temperature profiles combine with ProductIntensity, and
	// Pattern.Intensity gives the seasonal one. Nil means time-linear.
	Intensity func(day time.Time) float64

	// MaxExtrapolationDays bounds extrapolation before the first and after the
	// last reading. Negative means unlimited, 0 means none.
	MaxExtrapolationDays int

	// RegisterSize is the value at which the register wraps to 0 (e.g. 100000
	// for a 5-digit dial). 0 means it never wraps.
	RegisterSize float64

	// MeasuredGap is the longest gap between readings across a midnight for
	// which that midnight still counts as measured. 0 means 3 hours.
	MeasuredGap time.Duration

	// dayIntensity, when set, is Intensity by civil day number: the same
	// values without turning every day into an instant and back.
	dayIntensity func(c int) float64

	// midnights, when set, holds midnights of Location shared with other
	// series (a Plan's), read-only; days it lacks are computed.
	midnights *midnightTable
}

// DefaultMeasuredGap is the MeasuredGap used when DailyOptions leaves it 0.
const DefaultMeasuredGap = 3 * time.Hour

// Series is a meter's daily series: one Day per local midnight, consecutive.
// The last Day's Consumption is NaN (the day's end is not covered).
type Series struct {
	Days   []Day
	Events []Event
}

// BuildDaily builds the daily series of one physical meter from its readings
// (any order; duplicates with equal values are tolerated). The input slice is
// not modified.
//
// The register at each local midnight is sampled exactly from the two
// readings around it, however dense they are; readings outside the output
// range still anchor it. Drops are repaired first (see the Event kinds typo,
// rollover and reset), so the series never decreases when the meter does not
// run backwards. Before the first and after the last reading the register is
// extrapolated at EstimateRate of the real readings, shaped by Intensity or
// Pattern; backwards it never goes below 0. A single reading gives a flat
// series (its rate is unknown).
//
// A meter without readings yields an empty Series and no error; reporting
// EventNoData is left to the caller, which knows the meter.
//
// Differences from the old pipeline, worth knowing when comparing outputs:
//   - days are local calendar days of Location (23, 24 or 25 h), not UTC days
//     (spec §1.6, W-16);
//   - a day's Consumption is the use during that day, labelled with the day
//     it happened; the old pipeline labelled it one day late and put 0 on the
//     first day, whose use it did not know (W-12). The last row's use is
//     NaN here for the same reason;
//   - dense input is sampled exactly at midnights, not thinned (W-2, W-3);
//   - extrapolation is flagged per day (Quality) and can be bounded (W-6);
//   - a single reading or a constant meter is flat, not a ramp from 0 (W-5);
//   - drops are repaired and reported, not clipped to lost use (W-7).
func BuildDaily(readings []Reading, opt DailyOptions) (Series, error) {
	loc := opt.Location
	if loc == nil {
		return Series{}, ErrNoLocation
	}
	extrapIntensity := opt.Intensity
	if opt.Pattern != nil {
		if _, err := opt.Pattern.sum(); err != nil {
			return Series{}, fmt.Errorf("daily series: pattern: %w", err)
		}
		if extrapIntensity == nil {
			extrapIntensity = opt.Pattern.Intensity()
		}
	}
	gap := opt.MeasuredGap
	if gap <= 0 {
		gap = DefaultMeasuredGap
	}

	rs, events := cleanReadings(readings, opt.RegisterSize, loc)
	if len(rs) == 0 {
		sortEvents(events)
		return Series{Events: events}, nil
	}
	n := len(rs)
	first, last := rs[0], rs[n-1]

	startDay, endDay, events := outputRange(opt, first.Time, last.Time, events)
	sortEvents(events)
	if startDay > endDay {
		return Series{Events: events}, nil
	}

	// The grid spans the output days and the readings that bound them, so that
	// intensity weights exist at every instant the sweep below looks at.
	lowDay, highDay := startDay, endDay+1
	startT := midnight(startDay, loc)
	endT := midnight(endDay, loc)
	if p := countAtOrBefore(rs, startT); p > 0 {
		lowDay = min(lowDay, dayIn(rs[p-1].Time, loc))
	} else {
		highDay = max(highDay, dayIn(first.Time, loc)+1)
	}
	if p := sort.Search(n, func(i int) bool { return !rs[i].Time.Before(endT) }); p < n {
		highDay = max(highDay, dayIn(rs[p].Time, loc)+1)
	} else {
		lowDay = min(lowDay, dayIn(last.Time, loc))
	}
	sc := dailyScratchPool.Get().(*dailyScratch)
	defer dailyScratchPool.Put(sc)
	clk := clock{origin: startT}
	g := newGrid(lowDay, highDay, loc, clk, opt.midnights, &sc.unix)

	var interpW, extrapW *weights
	if opt.Intensity != nil {
		if opt.dayIntensity != nil {
			interpW = newDayWeights(g, opt.dayIntensity, &sc.cum)
		} else {
			interpW = newWeights(g, opt.Intensity, &sc.cum)
		}
		extrapW = interpW
	} else if extrapIntensity != nil {
		extrapW = newWeights(g, extrapIntensity, &sc.cum)
	}

	s := sweep{
		rs: rs, clk: clk, g: g, interpW: interpW, extrapW: extrapW,
		startDay: startDay, endDay: endDay, gap: gap, bracket: -1, rsc: &sc.rate,
	}
	// Each day first holds the register at its midnight and that instant's
	// quality; a second pass turns them into the day's use and quality.
	days := make([]Day, endDay-startDay+1)
	p := countAtOrBefore(rs, startT)
	for k := range days {
		c := startDay + k
		m := g.unix[c-g.first] // the midnight, in Unix seconds
		for p < n && !afterUnix(rs[p].Time, m) {
			p++
		}
		v, q := s.valueAt(c, m, p)
		days[k] = Day{Date: Date(c), Reading: v, Consumption: math.NaN(), Quality: q}
	}
	for k := 0; k+1 < len(days); k++ {
		d, next := &days[k], &days[k+1]
		d.Consumption = next.Reading - d.Reading
		d.Quality = max(d.Quality, next.Quality)
	}
	days[len(days)-1].Quality = QualityUnknown
	return Series{Days: days, Events: events}, nil
}

// dailyScratch holds BuildDaily's working memory, reused from one series
// to the next (dailyScratchPool) instead of allocated anew: a house builds
// dozens of series over thousands of days, and fresh memory costs more than
// the work. Each buffer is written before it is read; nothing in it
// outlives the BuildDaily that got it (the Days are the caller's).
type dailyScratch struct {
	unix []int64   // the grid's midnights when the shared table lacks them
	cum  []float64 // the intensity weights
	rate rateScratch
}

var dailyScratchPool = sync.Pool{New: func() any { return new(dailyScratch) }}

// outputRange returns the civil days of the first and last output midnight,
// after the extrapolation limit, reporting any cut.
func outputRange(opt DailyOptions, first, last time.Time, events []Event) (int, int, []Event) {
	loc := opt.Location
	firstMid := firstMidnightFrom(first, loc) // first midnight covered by readings
	lastMid := dayIn(last, loc)               // last midnight covered by readings

	startDay, haveStart := 0, false
	if !opt.From.IsZero() {
		startDay, haveStart = dateOf(opt.From), true
	}
	if !opt.Installed.IsZero() {
		if d := dateOf(opt.Installed); !haveStart || d > startDay {
			startDay, haveStart = d, true
		}
	}
	if !haveStart {
		startDay = firstMid
	}

	endDay, haveEnd := 0, false
	if !opt.To.IsZero() {
		endDay, haveEnd = dateOf(opt.To), true
	}
	if !opt.Removed.IsZero() {
		// Removed is the last day of use: its use ends at the next midnight.
		if d := dateOf(opt.Removed) + 1; !haveEnd || d < endDay {
			endDay, haveEnd = d, true
		}
	}
	if !haveEnd {
		endDay = lastMid
	}

	if n := opt.MaxExtrapolationDays; n >= 0 {
		n = min(n, 1<<20) // beyond any real range; keeps the day arithmetic from overflowing
		if lo := firstMid - n; startDay < lo && lo <= endDay {
			at := midnight(lo, loc)
			events = append(events, Event{Time: at, Kind: EventExtrapolationCut,
				Message: fmt.Sprintf("backward extrapolation limited to %d days: the series starts at %s instead of %s",
					n, fmtTime(at, loc), fmtTime(midnight(startDay, loc), loc))})
			startDay = lo
		}
		if hi := lastMid + n; endDay > hi && hi >= startDay {
			at := midnight(hi, loc)
			events = append(events, Event{Time: at, Kind: EventExtrapolationCut,
				Message: fmt.Sprintf("forward extrapolation limited to %d days: the series ends at %s instead of %s",
					n, fmtTime(at, loc), fmtTime(midnight(endDay, loc), loc))})
			endDay = hi
		}
		// Output that lies entirely beyond the limit is empty, not cut.
		startDay = max(startDay, firstMid-n)
		endDay = min(endDay, lastMid+n)
	}
	return startDay, endDay, events
}

// sweep evaluates the register at the output midnights in increasing order.
type sweep struct {
	rs               []Reading
	clk              clock
	g                *grid
	interpW, extrapW *weights // nil: time-linear
	startDay, endDay int
	gap              time.Duration

	rsc *rateScratch // perDay's working memory

	// The bracket rs[bracket-1], rs[bracket] of the last interpolation:
	// -1 before the first.
	bracket  int
	bq       Quality // its quality
	sa, sb   float64 // its readings on clk
	wa, wb   float64 // interpW at them
	rate     float64
	haveRate bool
}

// afterUnix is t.After(time.Unix(u, 0)) and equalUnix is t.Equal of it,
// for the midnights of a grid (whole seconds, without a monotonic clock
// reading, so the time package compares t's wall clock): comparing
// integers instead of building an instant per day.
func afterUnix(t time.Time, u int64) bool {
	s := t.Unix()
	return s > u || s == u && t.Nanosecond() > 0
}

func equalUnix(t time.Time, u int64) bool { return t.Unix() == u && t.Nanosecond() == 0 }

// valueAt returns the register at midnight m (Unix seconds) of civil day c,
// where p readings lie at or before m.
func (s *sweep) valueAt(c int, m int64, p int) (float64, Quality) {
	rs, n := s.rs, len(s.rs)
	switch {
	case p > 0 && equalUnix(rs[p-1].Time, m):
		return rs[p-1].Value, QualityMeasured
	case p == 0:
		return s.backward(c), QualityExtrapolated
	case p == n:
		return s.forward(c), QualityExtrapolated
	}
	a, b := rs[p-1], rs[p]
	if s.bracket != p {
		s.bracket = p
		s.bq = QualityInterpolated
		if b.Time.Sub(a.Time) <= s.gap {
			s.bq = QualityMeasured
		}
		s.sa, s.sb = s.clk.secs(a.Time), s.clk.secs(b.Time)
		if s.interpW != nil {
			s.wa, s.wb = s.interpW.at(a.Time, s.sa), s.interpW.at(b.Time, s.sb)
		}
	}
	q, sa, sb := s.bq, s.sa, s.sb
	f := math.NaN()
	if s.interpW != nil {
		if s.wb > s.wa {
			f = (s.interpW.atDay(c) - s.wa) / (s.wb - s.wa)
		}
	}
	if math.IsNaN(f) {
		f = (s.g.secsAt(c) - sa) / (sb - sa)
	}
	f = min(max(f, 0), 1)
	// The clamp keeps the result within [a, b] despite rounding, so that a
	// never decreasing input gives a never decreasing output.
	v := a.Value + (b.Value-a.Value)*f
	return min(max(v, a.Value), b.Value), q
}

func (s *sweep) perDay() float64 {
	if !s.haveRate {
		s.rate, s.haveRate = estimateRateDetail(s.rs, s.rsc).PerDay, true
	}
	return s.rate
}

// backward extrapolates from the first reading back to midnight c, never
// below 0 (or below a first reading that is already negative): the register
// reaches 0 at the zero crossing and stays there before it (spec §2.4).
func (s *sweep) backward(c int) float64 {
	f := s.rs[0]
	floor := min(0, f.Value)
	r := s.perDay()
	if r == 0 {
		return f.Value
	}
	sf, sm := s.clk.secs(f.Time), s.g.secsAt(c)
	if w := s.extrapW; w != nil {
		wf, ws := w.at(f.Time, sf), w.atDay(s.startDay)
		if wf > ws {
			total := r * (sf - s.g.secsAt(s.startDay)) / secondsPerDay
			return max(f.Value-total*(wf-w.atDay(c))/(wf-ws), floor)
		}
	}
	return max(f.Value-r*(sf-sm)/secondsPerDay, floor)
}

// forward extrapolates from the last reading to midnight c. Shaped by weights,
// the total rate × span up to the last output midnight is spread over the
// span in proportion to weight, exactly reaching it at that midnight (spec
// §2.6 [FIX]); so, as in the spec, a shaped day's value depends on where the
// series ends.
func (s *sweep) forward(c int) float64 {
	l := s.rs[len(s.rs)-1]
	r := s.perDay()
	if r == 0 {
		return l.Value
	}
	sl, sm := s.clk.secs(l.Time), s.g.secsAt(c)
	if w := s.extrapW; w != nil {
		wl, we := w.at(l.Time, sl), w.atDay(s.endDay)
		if we > wl {
			total := r * (s.g.secsAt(s.endDay) - sl) / secondsPerDay
			return l.Value + total*min((w.atDay(c)-wl)/(we-wl), 1)
		}
	}
	return l.Value + r*(sm-sl)/secondsPerDay
}

// countAtOrBefore returns how many of the time-sorted readings lie at or
// before t.
func countAtOrBefore(rs []Reading, t time.Time) int {
	return sort.Search(len(rs), func(i int) bool { return rs[i].Time.After(t) })
}

func sortEvents(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int { return a.Time.Compare(b.Time) })
}
