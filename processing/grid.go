package processing

import (
	"math"
	"strconv"
	"time"
)

// Calendar days are numbered as civil days: days since 1970-01-01 in the
// proleptic Gregorian calendar, independent of any zone. Range arithmetic
// ("the day after Removed", "N days before the first reading") is done on
// these integers, and only turned into instants by midnight, so that no code
// path ever adds 24 hours to get to the next day.

// civil returns the civil day number of a calendar date.
func civil(y int, m time.Month, d int) int {
	// A UTC midnight is a whole multiple of 86400 s, so the division is exact
	// for dates before 1970 too.
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// civilDate returns the calendar date of civil day c.
func civilDate(c int) (int, time.Month, int) {
	return time.Unix(int64(c)*86400, 0).UTC().Date()
}

// dayIn returns the civil day of the local date on which instant t falls in loc.
func dayIn(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return civil(y, m, d)
}

// dateOf returns the civil day of the calendar date t shows in its own
// location. Option dates (From, To, Installed, Removed) are read this way, so
// a date built as UTC midnight by a config parser and one built as a local
// midnight of loc name the same day.
func dateOf(t time.Time) int {
	y, m, d := t.Date()
	return civil(y, m, d)
}

// midnight returns the first instant of civil day c in loc.
func midnight(c int, loc *time.Location) time.Time {
	y, m, d := civilDate(c)
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if ty, tm, td := t.Date(); ty != y || tm != m || td != d {
		// In zones whose clocks jump from 23:59:59 to 01:00 (America/Santiago,
		// America/Havana) 00:00 does not exist and time.Date may answer with
		// 23:00 of the day before. The day then starts at the transition.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			t = end
		}
	}
	return t
}

// dayClock answers dayIn and midnight for many instants of one location
// without the time package's calendar arithmetic: within one zone period
// (between offset changes, a few a year) the local date of an instant is
// its Unix time plus the offset, in whole days. Instants near a change and
// midnights that may not exist fall back to dayIn and midnight.
type dayClock struct {
	loc    *time.Location
	lo, hi int64 // Unix seconds of the known zone period [lo, hi)
	off    int64 // its offset east of UTC in seconds
	known  bool
}

// learn makes the period around lt (in c.loc) the known one.
func (c *dayClock) learn(lt time.Time) {
	_, off := lt.Zone()
	start, end := lt.ZoneBounds()
	c.off, c.lo, c.hi, c.known = int64(off), math.MinInt64, math.MaxInt64, true
	if !start.IsZero() {
		c.lo = start.Unix()
	}
	if !end.IsZero() {
		c.hi = end.Unix()
	}
}

// day is dayIn(t, c.loc).
func (c *dayClock) day(t time.Time) int {
	u := t.Unix()
	if !c.known || u < c.lo || u >= c.hi {
		c.learn(t.In(c.loc))
	}
	return int(floorDiv(u+c.off, secondsPerDay))
}

// wallClock returns dayIn(t, c.loc) and the whole seconds since that
// day's start on t's local wall clock (h·3600 + m·60 + s of its Clock in
// c.loc): the local time in seconds, split at whole days.
func (c *dayClock) wallClock(t time.Time) (int, int64) {
	u := t.Unix()
	if !c.known || u < c.lo || u >= c.hi {
		c.learn(t.In(c.loc))
	}
	d := floorDiv(u+c.off, secondsPerDay)
	return int(d), u + c.off - d*secondsPerDay
}

// dateMidnight is time.Date(y, m, d, 0, 0, 0, 0, c.loc) of civil day d:
// unlike midnight, it is not corrected where 00:00 does not exist. Away
// from any change of offset of the known zone period it is whole days of
// local time, as in midnight.
func (c *dayClock) dateMidnight(d int) time.Time {
	if c.known {
		if u := int64(d)*secondsPerDay - c.off; u-secondsPerDay >= c.lo && u+secondsPerDay < c.hi {
			return time.Unix(u, 0).In(c.loc)
		}
	}
	y, m, dd := civilDate(d)
	return time.Date(y, m, dd, 0, 0, 0, 0, c.loc)
}

// midnight is midnight(d, c.loc).
func (c *dayClock) midnight(d int) time.Time {
	if c.known {
		// Away from any change of offset the local midnight exists and is
		// unique; otherwise ask the time package.
		if u := int64(d)*secondsPerDay - c.off; u-secondsPerDay >= c.lo && u+secondsPerDay < c.hi {
			return time.Unix(u, 0).In(c.loc)
		}
	}
	t := midnight(d, c.loc)
	c.learn(t)
	return t
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// civilFromDays is civilDate by integer arithmetic (H. Hinnant's
// days-to-civil for the proleptic Gregorian calendar).
func civilFromDays(c int) (int, time.Month, int) {
	z := c + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, time.Month(m), d
}

// firstMidnightFrom returns the civil day of the first local midnight at or
// after t.
func firstMidnightFrom(t time.Time, loc *time.Location) int {
	c := dayIn(t, loc)
	if midnight(c, loc).Equal(t) {
		return c
	}
	return c + 1
}

// clock measures instants as float64 seconds from an origin. Splitting into
// whole seconds and nanoseconds keeps it exact to well below a millisecond for
// any realistic span, where time.Time.Sub would saturate after 292 years.
type clock struct{ origin time.Time }

func (c clock) secs(t time.Time) float64 {
	return float64(t.Unix()-c.origin.Unix()) + float64(t.Nanosecond()-c.origin.Nanosecond())*1e-9
}

const secondsPerDay = 86400

// midnightTable holds the local midnights of a run of consecutive civil
// days of one location as Unix seconds (every midnight is a whole second).
// A Plan builds one for its From..To and shares it read-only with all its
// meters, whose series lie on the same days; BuildDaily builds its own only
// for days the shared one lacks.
type midnightTable struct {
	loc   *time.Location
	first int     // civil day of unix[0]
	unix  []int64 // unix[k]: first instant of civil day first+k
}

// newMidnightTable tabulates the midnights of civil days first..last of loc.
func newMidnightTable(first, last int, loc *time.Location) *midnightTable {
	t := &midnightTable{loc: loc, first: first, unix: make([]int64, max(last-first+1, 0))}
	fillMidnights(t.unix, first, loc)
	return t
}

// fillMidnights sets unix[k] to the midnight of civil day first+k of loc.
func fillMidnights(unix []int64, first int, loc *time.Location) {
	dc := dayClock{loc: loc}
	for k := range unix {
		unix[k] = dc.midnight(first + k).Unix()
	}
}

// span returns the midnights of civil days first..last of loc, from t when
// it holds them all (t may be nil), else computed into *buf (grown as
// needed).
func (t *midnightTable) span(first, last int, loc *time.Location, buf *[]int64) []int64 {
	if t != nil && t.loc == loc && first >= t.first && last < t.first+len(t.unix) {
		return t.unix[first-t.first : last-t.first+1 : last-t.first+1]
	}
	unix := grow(buf, max(last-first+1, 0))
	fillMidnights(unix, first, loc)
	return unix
}

// grid holds the local midnights of a run of consecutive civil days, and
// their positions on a clock.
type grid struct {
	first int     // civil day of index 0
	unix  []int64 // unix[k]: start of civil day first+k, Unix seconds
	loc   *time.Location
	clk   clock

	// clk.secs of a whole second u is float64(u-originSec) + originNs.
	originSec int64
	originNs  float64
}

// newGrid lays the midnights of civil days first..last inclusive on clk,
// taking them from shared when it holds them, else computing them into
// *buf.
func newGrid(first, last int, loc *time.Location, clk clock, shared *midnightTable, buf *[]int64) *grid {
	return &grid{first: first, unix: shared.span(first, last, loc, buf), loc: loc, clk: clk,
		originSec: clk.origin.Unix(), originNs: float64(-clk.origin.Nanosecond()) * 1e-9}
}

// days returns the number of midnights on the grid.
func (g *grid) days() int { return len(g.unix) }

// midnight returns the start of civil day c, which must lie on the grid.
func (g *grid) midnight(c int) time.Time { return time.Unix(g.unix[c-g.first], 0).In(g.loc) }

// secsAt returns the start of civil day c on the grid's clock: clk.secs of
// the midnight, whose nanoseconds are 0.
func (g *grid) secsAt(c int) float64 {
	return float64(g.unix[c-g.first]-g.originSec) + g.originNs
}

// weights is a cumulative weight W(t) over a grid: within each local day the
// weight grows linearly by that day's intensity, so W over a whole day equals
// Intensity(day) however long (23, 24 or 25 h) the day is. Callers use a nil
// *weights for the time-linear case (W(t) = seconds) and never call it.
type weights struct {
	g   *grid
	cum []float64 // cum[k]: W at the grid's k-th midnight; len(cum) == g.days()
	dc  dayClock  // finds the day of an instant
}

// newWeights integrates intensity over every day of g but the last (whose end
// is not on the grid), into *buf (grown as needed; every element is
// written).
func newWeights(g *grid, intensity func(day time.Time) float64, buf *[]float64) *weights {
	w := &weights{g: g, cum: grow(buf, g.days()), dc: dayClock{loc: g.loc}}
	if len(w.cum) > 0 {
		w.cum[0] = 0
	}
	for k := 1; k < len(w.cum); k++ {
		w.cum[k] = w.cum[k-1] + sanitizeIntensity(intensity(g.midnight(g.first+k-1)))
	}
	return w
}

// newDayWeights is newWeights for an intensity given by civil day number.
func newDayWeights(g *grid, intensity func(c int) float64, buf *[]float64) *weights {
	w := &weights{g: g, cum: grow(buf, g.days()), dc: dayClock{loc: g.loc}}
	if len(w.cum) > 0 {
		w.cum[0] = 0
	}
	for k := 1; k < len(w.cum); k++ {
		w.cum[k] = w.cum[k-1] + sanitizeIntensity(intensity(g.first+k-1))
	}
	return w
}

// sanitizeIntensity maps what an intensity function may return onto a usable
// weight: negative use is impossible (0), and NaN or infinity means the
// profile knows nothing about the day, so it counts as average (1).
func sanitizeIntensity(v float64) float64 {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 1
	case v < 0:
		return 0
	}
	return v
}

// atDay returns W at the start of civil day c.
func (w *weights) atDay(c int) float64 { return w.cum[c-w.g.first] }

// at returns W at instant t whose clock reading is s. t must lie within the
// grid (between its first and last midnight).
func (w *weights) at(t time.Time, s float64) float64 {
	k := w.dc.day(t) - w.g.first
	k = min(max(k, 0), len(w.cum)-2)
	if k < 0 {
		return w.cum[0]
	}
	lo, hi := w.g.secsAt(w.g.first+k), w.g.secsAt(w.g.first+k+1)
	f := 0.0
	if hi > lo {
		f = min(max((s-lo)/(hi-lo), 0), 1)
	}
	return w.cum[k] + (w.cum[k+1]-w.cum[k])*f
}

// fmtTime formats an instant for event messages, in the series' zone.
func fmtTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// fmtNum formats a register value or a sum for event messages: ten digits,
// so that float residue (-1.0000000000000002 where arm64 fuses a
// multiply-add) is not shown.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
