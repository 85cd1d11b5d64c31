package main

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// truthDay is one local day of a dense series.
type truthDay struct {
	Date        time.Time // local midnight
	Consumption float64
	Valid       bool
}

// series is a dense ground-truth series and a way to read its register at
// any instant.
type series struct {
	ID      string
	Utility string // electricity, gas, water
	Loc     *time.Location
	Days    []truthDay
	// Register returns the true register at t (only called within the
	// readable span).
	Register func(t time.Time) float64
	// First and Last bound the instants at which Register may be read.
	First, Last time.Time
	// Resolution is the dial step readings are rounded down to.
	Resolution float64
}

// scheme is a reading schedule: every D days, or irregular 3–45 days (D = 0).
type scheme struct {
	Name string
	D    int
}

var schemes = []scheme{{"7", 7}, {"14", 14}, {"30", 30}, {"3–45", 0}}

// method is one way of rebuilding daily use from readings.
type method struct {
	Name      string
	Intensity func(s *series, readings []processing.Reading) func(day time.Time) float64
	// Explain, when set, says what the method chose for these readings.
	Explain func(s *series, readings []processing.Reading) string
}

// linearMethod is the old pipeline's time-linear spreading (Intensity nil).
var linearMethod = method{Name: "linear"}

// meteragentMethod is meteragent's profile learned from the readings alone.
func meteragentMethod(opt processing.ProfileOptions) method {
	return method{
		Name: "meteragent",
		Intensity: func(s *series, readings []processing.Reading) func(day time.Time) float64 {
			o := opt
			o.Location = s.Loc
			return processing.LearnIntensity(readings, o)
		},
		Explain: func(s *series, readings []processing.Reading) string {
			o := opt
			o.Location = s.Loc
			p := processing.LearnProfile(readings, o)
			return fmt.Sprintf("%s (weekday %.2f, CV %.3g vs %.3g)", p.Method, p.Weekday, p.CVError, p.CVLinear)
		},
	}
}

// oracleMethod spreads each interval by the TRUE use smoothed over a centred
// window of the given days. It is not a method a meter can use (it reads
// the truth); it bounds what any readings-only method that knows the
// seasonal shape perfectly, but not the day-to-day weather and occupancy,
// can reach. The README quotes it to show where the gas target stands.
func oracleMethod(window int) method {
	return method{
		Name: fmt.Sprintf("oracle%d", window),
		Intensity: func(s *series, _ []processing.Reading) func(day time.Time) float64 {
			n := len(s.Days)
			prefix := make([]float64, n+1)
			for i, d := range s.Days {
				prefix[i+1] = prefix[i] + max(d.Consumption, 0)
			}
			smooth := make(map[int64]float64, n)
			half := window / 2
			for i, d := range s.Days {
				lo, hi := max(0, i-half), min(n, i+half+1)
				smooth[d.Date.Unix()] = (prefix[hi] - prefix[lo]) / float64(hi-lo)
			}
			return func(day time.Time) float64 {
				v, ok := smooth[localMidnight(day, s.Loc).Unix()]
				if !ok || !(v > 0) {
					return 1e-6
				}
				return v
			}
		},
	}
}

// score accumulates the protocol's error sums for one method.
type score struct {
	AbsErr, Err, True float64   // Σ|rebuilt − true|, Σ(rebuilt − true), Σ true
	Days              int       // scored days
	MonthErr          []float64 // |Σ_month rebuilt − Σ_month true| / Σ_month true
}

func (s *score) add(o score) {
	s.AbsErr += o.AbsErr
	s.Err += o.Err
	s.True += o.True
	s.Days += o.Days
	s.MonthErr = append(s.MonthErr, o.MonthErr...)
}

// NMAE is the daily normalised mean absolute error.
func (s score) NMAE() float64 { return s.AbsErr / s.True }

// NMBE is the normalised mean bias error.
func (s score) NMBE() float64 { return s.Err / s.True }

// MonthlyMedian is the median relative error of monthly totals (NaN if none).
func (s score) MonthlyMedian() float64 {
	if len(s.MonthErr) == 0 {
		return math.NaN()
	}
	m := slices.Clone(s.MonthErr)
	slices.Sort(m)
	n := len(m)
	if n%2 == 1 {
		return m[n/2]
	}
	return (m[n/2-1] + m[n/2]) / 2
}

// minMonthDays is the number of valid scored days a month needs to count.
const minMonthDays = 25

// scoreDays scores rebuilt daily use against the truth. rebuilt[i] belongs
// to truth[i]; only days with scored[i] set count (the days strictly between
// the first and the last reading's days), and invalid truth days never count.
func scoreDays(rebuilt []float64, truth []truthDay, scored []bool) score {
	var s score
	type acc struct {
		reb, tru float64
		n        int
	}
	var cur acc
	curKey := -1
	flush := func() {
		if curKey >= 0 && cur.n >= minMonthDays && cur.tru > 0 {
			s.MonthErr = append(s.MonthErr, math.Abs(cur.reb-cur.tru)/cur.tru)
		}
	}
	for i, d := range truth {
		if !scored[i] || !d.Valid || math.IsNaN(rebuilt[i]) {
			continue
		}
		y, m, _ := d.Date.Date()
		if key := y*12 + int(m); key != curKey {
			flush()
			curKey, cur = key, acc{}
		}
		e := rebuilt[i] - d.Consumption
		s.AbsErr += math.Abs(e)
		s.Err += e
		s.True += d.Consumption
		s.Days++
		cur.reb += rebuilt[i]
		cur.tru += d.Consumption
		cur.n++
	}
	flush()
	return s
}

// seedFor derives a per-series, per-scheme seed so that results do not depend
// on which series are selected or in which order they run.
func seedFor(seed uint64, id string, sc scheme) (uint64, uint64) {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s", id, sc.Name)
	return seed, h.Sum64()
}

// schedule draws the reading instants of one series under one scheme: one
// reading every D days shifted by a random ±round(D/7) days (or gaps drawn
// from 3–45 days), each at a random time between 07:00 and 21:00 local.
func schedule(s *series, sc scheme, rng *rand.Rand) []time.Time {
	first := s.Days[0].Date
	last := s.Days[len(s.Days)-1].Date
	var days []time.Time
	if sc.D > 0 {
		shift := int(math.Round(float64(sc.D) / 7))
		for k := 0; ; k++ {
			d := first.AddDate(0, 0, k*sc.D+rng.IntN(2*shift+1)-shift)
			if d.After(last) {
				break
			}
			days = append(days, d)
		}
	} else {
		for d := first; !d.After(last); d = d.AddDate(0, 0, 3+rng.IntN(43)) {
			days = append(days, d)
		}
	}
	var out []time.Time
	for _, d := range days {
		secs := 7*3600 + rng.IntN(14*3600+1)
		y, m, dd := d.Date()
		t := time.Date(y, m, dd, 0, 0, secs, 0, s.Loc)
		if t.Before(s.First) || t.After(s.Last) {
			continue
		}
		if len(out) > 0 && !t.After(out[len(out)-1]) {
			continue // a negative shift can land before the previous reading
		}
		out = append(out, t)
	}
	return out
}

// takeReadings reads the register at each instant, rounded down to the dial.
func takeReadings(s *series, at []time.Time) []processing.Reading {
	rs := make([]processing.Reading, len(at))
	for i, t := range at {
		v := s.Register(t)
		if s.Resolution > 0 {
			v = math.Floor(v/s.Resolution) * s.Resolution
		}
		rs[i] = processing.Reading{Time: t, Value: v}
	}
	return rs
}

// evaluate rebuilds one series under one scheme with every method and
// scores each over the days strictly between the first and last reading day.
// With explain, it also collects each method's Explain note.
func evaluate(s *series, sc scheme, seed uint64, methods []method, explain bool) ([]score, []string, error) {
	rng := rand.New(rand.NewPCG(seedFor(seed, s.ID, sc)))
	readings := takeReadings(s, schedule(s, sc, rng))
	if len(readings) < 3 {
		return nil, nil, fmt.Errorf("series %s, D=%s: only %d readings", s.ID, sc.Name, len(readings))
	}
	firstDay := localMidnight(readings[0].Time, s.Loc)
	lastDay := localMidnight(readings[len(readings)-1].Time, s.Loc)
	scored := make([]bool, len(s.Days))
	for i, d := range s.Days {
		scored[i] = d.Date.After(firstDay) && d.Date.Before(lastDay)
	}
	out := make([]score, len(methods))
	notes := make([]string, len(methods))
	for k, m := range methods {
		if m.Explain != nil && explain {
			notes[k] = m.Explain(s, readings)
		}
		opt := processing.DailyOptions{
			Location: s.Loc, From: firstDay, To: lastDay.AddDate(0, 0, 1),
			MaxExtrapolationDays: 0,
		}
		if m.Intensity != nil {
			opt.Intensity = m.Intensity(s, readings)
		}
		ser, err := processing.BuildDaily(readings, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("series %s, D=%s, %s: %w", s.ID, sc.Name, m.Name, err)
		}
		byDate := make(map[processing.Date]float64, len(ser.Days))
		for _, d := range ser.Days {
			byDate[d.Date] = d.Consumption
		}
		rebuilt := make([]float64, len(s.Days))
		for i, d := range s.Days {
			v, ok := byDate[processing.DateOf(d.Date)]
			if !ok {
				v = math.NaN()
			}
			rebuilt[i] = v
			if scored[i] && d.Valid && math.IsNaN(v) {
				return nil, nil, fmt.Errorf("series %s, D=%s, %s: no rebuilt use on %s",
					s.ID, sc.Name, m.Name, d.Date.Format(time.DateOnly))
			}
		}
		out[k] = scoreDays(rebuilt, s.Days, scored)
	}
	return out, notes, nil
}

func localMidnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
