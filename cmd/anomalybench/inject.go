package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// Injected kinds, named as the anomalies that should report them.
var kinds = []string{
	processing.AnomalySpike, processing.AnomalyStuck, processing.AnomalyLevelShift,
	processing.AnomalyLeak, processing.AnomalyTypo,
}

// margin keeps injections this many days away from either end, so that the
// detectors have context on both sides.
const margin = 60

// injection is one anomaly put into a copy of a series.
type injection struct {
	Kind     string
	From, To int // injected days [From, To), as indices into the series' days
	Readings []processing.Reading
	TypoDay  int // typo: day index of the bad reading (its value in the sparse variant too)
}

// registerAt interpolates the register linearly at t (sorted readings).
func registerAt(rs []processing.Reading, t time.Time) float64 {
	j := sort.Search(len(rs), func(i int) bool { return !rs[i].Time.Before(t) })
	switch {
	case j == 0:
		return rs[0].Value
	case j == len(rs):
		return rs[len(rs)-1].Value
	}
	a, b := rs[j-1], rs[j]
	return a.Value + (b.Value-a.Value)*float64(t.Sub(a.Time))/float64(b.Time.Sub(a.Time))
}

func (s *series) day(i int) time.Time { return s.Start.AddDate(0, 0, i) }

// typical is the median positive use of the 29 days around day i.
func (s *series) typical(i int) float64 {
	var xs []float64
	for j := max(0, i-14); j <= min(len(s.Use)-1, i+14); j++ {
		if s.Use[j] > 0 {
			xs = append(xs, s.Use[j])
		}
	}
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// addUse adds total use spread evenly in time over [from, to).
func addUse(rs []processing.Reading, from, to time.Time, total float64) {
	span := float64(to.Sub(from))
	for i := range rs {
		f := float64(rs[i].Time.Sub(from)) / span
		rs[i].Value += total * min(max(f, 0), 1)
	}
}

// inject puts one anomaly of kind into a copy of s's readings, at a random
// place at least margin days from either end. ok is false when the series
// is too short or the kind does not apply (leaks need a sub-daily register).
func inject(s *series, kind string, rng *rand.Rand) (injection, bool) {
	n := len(s.Use)
	span := map[string]int{processing.AnomalySpike: 1, processing.AnomalyStuck: 15,
		processing.AnomalyLevelShift: 60, processing.AnomalyLeak: 11, processing.AnomalyTypo: 1}[kind]
	if n < 2*margin+span+1 || (kind == processing.AnomalyLeak && !s.Hourly) {
		return injection{}, false
	}
	d := margin + rng.IntN(n-2*margin-span)
	rs := slices.Clone(s.Readings)
	in := injection{Kind: kind, From: d, To: d + 1, Readings: rs}
	from := s.day(d)
	switch kind {
	case processing.AnomalySpike:
		// One day at 3–6 times its typical use.
		m := 3 + 3*rng.Float64()
		addUse(rs, from, s.day(d+1), (m-1)*s.typical(d))
	case processing.AnomalyStuck:
		// The register stands still for 5–14 days; the next reading is true again.
		l := 5 + rng.IntN(10)
		to := s.day(d + l)
		v := registerAt(rs, from)
		for i := range rs {
			if rs[i].Time.After(from) && !rs[i].Time.After(to) {
				rs[i].Value = v
			}
		}
		in.To = d + l + 1 // the day that catches up
	case processing.AnomalyLevelShift:
		// Use ×1.5 or ×0.5 for 30–60 days.
		f := 1.5
		if rng.IntN(2) == 1 {
			f = 0.5
		}
		l := 30 + rng.IntN(31)
		to := s.day(d + l)
		r0, r1 := registerAt(rs, from), registerAt(rs, to)
		for i := range rs {
			switch t := rs[i].Time; {
			case t.After(from) && t.Before(to):
				rs[i].Value = r0 + f*(rs[i].Value-r0)
			case !t.Before(to):
				rs[i].Value += (f - 1) * (r1 - r0)
			}
		}
		in.To = d + l
	case processing.AnomalyLeak:
		// A constant 2–5 L/h for 3–10 days from a random hour.
		rate := 2 + 3*rng.Float64()
		l := 3 + rng.IntN(8)
		start := from.Add(time.Duration(rng.IntN(24)) * time.Hour)
		end := start.AddDate(0, 0, l)
		addUse(rs, start, end, rate*end.Sub(start).Hours())
		in.To = d + l + 1
	case processing.AnomalyTypo:
		// One reading of the day with two digits swapped or ×10. A midnight
		// reading bounds the day before too.
		lo := sort.Search(len(rs), func(i int) bool { return !rs[i].Time.Before(from) })
		hi := sort.Search(len(rs), func(i int) bool { return !rs[i].Time.Before(s.day(d + 1)) })
		if hi <= lo {
			return injection{}, false
		}
		i := lo + rng.IntN(hi-lo)
		rs[i].Value = typo(rs[i].Value, rng)
		in.From, in.TypoDay = d-1, d
	}
	return in, true
}

// typo returns v ×10 or with two adjacent different digits of its integer
// part swapped (×10 when all digits are equal).
func typo(v float64, rng *rand.Rand) float64 {
	whole := math.Floor(v)
	digits := []byte(strconv.FormatFloat(whole, 'f', 0, 64))
	var pairs []int
	for i := 0; i+1 < len(digits); i++ {
		if digits[i] != digits[i+1] && !(i == 0 && digits[1] == '0') {
			pairs = append(pairs, i)
		}
	}
	if rng.IntN(2) == 0 || len(pairs) == 0 {
		return v * 10
	}
	i := pairs[rng.IntN(len(pairs))]
	digits[i], digits[i+1] = digits[i+1], digits[i]
	w, _ := strconv.ParseFloat(string(digits), 64)
	return w + (v - whole)
}

// weeklyTimes are the times a person reads the meter once a week, shifted
// by up to a day, at a random time between 07:00 and 21:00 (the accuracy
// protocol's D = 7 scheme). The same times serve the clean and every
// injected copy.
func weeklyTimes(s *series, rng *rand.Rand) []time.Time {
	first, last := s.Readings[0].Time, s.Readings[len(s.Readings)-1].Time
	var out []time.Time
	for i := 0; ; i += 7 {
		t := s.day(i + rng.IntN(3) - 1).Add(7*time.Hour + time.Duration(rng.Int64N(int64(14*time.Hour))))
		if t.Before(first) {
			continue
		}
		if t.After(last) {
			return out
		}
		out = append(out, t)
	}
}

// readAt reads the register at the times, rounded down to the dial's 1 unit.
func readAt(rs []processing.Reading, times []time.Time) []processing.Reading {
	out := make([]processing.Reading, len(times))
	for i, t := range times {
		out[i] = processing.Reading{Time: t, Value: math.Floor(registerAt(rs, t))}
	}
	return out
}
