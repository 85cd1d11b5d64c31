package processing_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// profSynth is a synthetic meter whose true daily use is known.
type profSynth struct {
	loc   *time.Location
	start time.Time // local midnight of the first day
	use   []float64 // true use per day
}

func newProfSynth(loc *time.Location, start time.Time, days int, rate func(d time.Time) float64) profSynth {
	s := profSynth{loc: loc, start: start, use: make([]float64, days)}
	for i := range days {
		s.use[i] = rate(s.day(i))
	}
	return s
}

func (s profSynth) day(i int) time.Time {
	y, m, d := s.start.Date()
	return time.Date(y, m, d+i, 0, 0, 0, 0, s.loc)
}

// register is the true register at t, with use uniform within each day.
func (s profSynth) register(t time.Time) float64 {
	c := 0.0
	for i := range s.use {
		a, b := s.day(i), s.day(i+1)
		switch {
		case !t.After(a):
			return c
		case !t.Before(b):
			c += s.use[i]
		default:
			return c + s.use[i]*float64(t.Sub(a))/float64(b.Sub(a))
		}
	}
	return c
}

// readings every `every` days (jittered by ±jitter days) at a random time
// between 07:00 and 21:00.
func (s profSynth) readings(rng *rand.Rand, every, jitter int) []processing.Reading {
	var rs []processing.Reading
	for k := 0; ; k++ {
		i := k*every + jitter
		if jitter > 0 {
			i += rng.IntN(2*jitter+1) - jitter
		}
		if i >= len(s.use)-1 {
			break
		}
		t := s.day(i).Add(7*time.Hour + time.Duration(rng.IntN(14*3600))*time.Second)
		rs = append(rs, processing.Reading{Time: t, Value: s.register(t)})
	}
	return rs
}

// profNMAE rebuilds the days with BuildDaily and scores the days strictly
// between the first and last reading.
func profNMAE(t *testing.T, s profSynth, rs []processing.Reading, intensity func(time.Time) float64) float64 {
	t.Helper()
	first := profMidnight(rs[0].Time, s.loc)
	last := profMidnight(rs[len(rs)-1].Time, s.loc)
	ser, err := processing.BuildDaily(rs, processing.DailyOptions{
		Location: s.loc, From: first, To: last, Intensity: intensity,
	})
	if err != nil {
		t.Fatalf("BuildDaily: %v", err)
	}
	byDay := map[int64]float64{}
	for _, d := range ser.Days {
		byDay[d.Date.In(s.loc).Unix()] = d.Consumption
	}
	abs, tot := 0.0, 0.0
	for i := range s.use {
		d := s.day(i)
		if !d.After(first) || !d.Before(last) {
			continue
		}
		v, ok := byDay[d.Unix()]
		if !ok || math.IsNaN(v) {
			t.Fatalf("no rebuilt use on %s", d.Format(time.DateOnly))
		}
		abs += math.Abs(v - s.use[i])
		tot += s.use[i]
	}
	return abs / tot
}

func profMidnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func profLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s unavailable: %v", name, err)
	}
	return loc
}

// profMean averages f over the days [from, from+n).
func profMean(f func(time.Time) float64, from time.Time, n int) float64 {
	s := 0.0
	for i := range n {
		s += f(from.AddDate(0, 0, i))
	}
	return s / float64(n)
}

func TestLearnProfileRecoversSeason(t *testing.T) {
	loc := profLoc(t, "Europe/London")
	start := time.Date(2019, 1, 1, 0, 0, 0, 0, loc)
	// Winter-peaked use: Jan ≈ 1.6× the mean, Jul ≈ 0.4×.
	s := newProfSynth(loc, start, 3*365, func(d time.Time) float64 {
		return 100 * (1 + 0.6*math.Cos(2*math.Pi*float64(d.YearDay()-15)/365))
	})
	rs := s.readings(rand.New(rand.NewPCG(1, 2)), 30, 4)
	p := processing.LearnProfile(rs, processing.ProfileOptions{Location: loc})
	if p.Linear() {
		t.Fatalf("profile is linear on strongly seasonal data (CV %g vs %g)", p.CVError, p.CVLinear)
	}
	jan := profMean(p.Intensity, time.Date(2020, 1, 1, 0, 0, 0, 0, loc), 31)
	jul := profMean(p.Intensity, time.Date(2020, 7, 1, 0, 0, 0, 0, loc), 31)
	wantRatio := 0.0
	{
		a, b := 0.0, 0.0
		for i := range 31 {
			a += s.use[365+i]     // January 2020
			b += s.use[365+182+i] // July 2020
		}
		wantRatio = a / b
	}
	if got := jan / jul; math.Abs(got/wantRatio-1) > 0.2 {
		t.Errorf("January/July intensity = %.2f, want %.2f ± 20 %%", got, wantRatio)
	}
	lin := profNMAE(t, s, rs, nil)
	learned := profNMAE(t, s, rs, p.Intensity)
	if learned >= 0.5*lin {
		t.Errorf("daily NMAE learned %.4f, linear %.4f: want at least halved", learned, lin)
	}
}

func TestLearnProfileRecoversWeekend(t *testing.T) {
	loc := profLoc(t, "Europe/Berlin")
	start := time.Date(2021, 3, 1, 0, 0, 0, 0, loc)
	s := newProfSynth(loc, start, 2*365, func(d time.Time) float64 {
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return 50
		}
		return 100
	})
	rs := s.readings(rand.New(rand.NewPCG(3, 4)), 7, 1)
	p := processing.LearnProfile(rs, processing.ProfileOptions{Location: loc})
	if !strings.Contains(p.Method, "weekday") {
		t.Fatalf("method %q does not use the weekday structure", p.Method)
	}
	ratio := p.Weekday[time.Saturday] / p.Weekday[time.Wednesday]
	if math.Abs(ratio-0.5) > 0.08 {
		t.Errorf("Saturday/Wednesday factor = %.3f, want 0.5 ± 0.08 (factors %v)", ratio, p.Weekday)
	}
	lin := profNMAE(t, s, rs, nil)
	learned := profNMAE(t, s, rs, p.Intensity)
	if learned >= 0.3*lin {
		t.Errorf("daily NMAE learned %.4f, linear %.4f: want < 30 %% of linear", learned, lin)
	}
}

func TestLearnProfileDegreeDays(t *testing.T) {
	loc := profLoc(t, "Europe/London")
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, loc)
	const days = 2 * 366
	rng := rand.New(rand.NewPCG(5, 6))
	// Daily mean temperature: an annual cycle plus multi-day weather.
	temp := make([]float64, days+2)
	w := 0.0
	for i := range temp {
		w = 0.7*w + 2.5*rng.NormFloat64()
		doy := float64(start.AddDate(0, 0, i).YearDay())
		temp[i] = 11 - 7*math.Cos(2*math.Pi*(doy-20)/365) + w
	}
	var temps []processing.Reading
	for i := range days + 2 {
		d := start.AddDate(0, 0, i)
		for h := 0; h < 24; h += 3 {
			temps = append(temps, processing.Reading{Time: d.Add(time.Duration(h)*time.Hour + 90*time.Minute), Value: temp[i]})
		}
	}
	hdd := func(i int) float64 { return math.Max(0, 15.5-temp[i]) }
	s := newProfSynth(loc, start, days, func(d time.Time) float64 {
		i := int(d.Sub(start).Hours()/24 + 0.5)
		return 20 + 10*hdd(i)
	})
	rs := s.readings(rand.New(rand.NewPCG(7, 8)), 30, 4)
	p := processing.LearnProfile(rs, processing.ProfileOptions{Location: loc, Temperatures: temps})
	if !strings.Contains(p.Method, "hdd") {
		t.Fatalf("method %q does not use degree days", p.Method)
	}
	lin := profNMAE(t, s, rs, nil)
	learned := profNMAE(t, s, rs, p.Intensity)
	if learned >= 0.5*lin {
		t.Errorf("daily NMAE learned %.4f, linear %.4f: want at least halved", learned, lin)
	}
	// Relative intensity of a cold and a mild day in the same interval.
	cold, mild := -1, -1
	for i := 400; i < 430; i++ {
		if cold < 0 || hdd(i) > hdd(cold) {
			cold = i
		}
		if mild < 0 || hdd(i) < hdd(mild) {
			mild = i
		}
	}
	want := s.use[cold] / s.use[mild]
	got := p.Intensity(s.day(cold)) / p.Intensity(s.day(mild))
	if math.Abs(got/want-1) > 0.15 {
		t.Errorf("cold/mild day intensity = %.2f, want %.2f ± 15 %%", got, want)
	}
}

func TestLearnProfileFlatIsLinear(t *testing.T) {
	loc := profLoc(t, "Europe/Berlin")
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, loc)
	s := newProfSynth(loc, start, 3*365, func(time.Time) float64 { return 10 })
	for _, every := range []int{7, 30} {
		rs := s.readings(rand.New(rand.NewPCG(9, uint64(every))), every, every/7)
		p := processing.LearnProfile(rs, processing.ProfileOptions{Location: loc})
		if f := processing.LearnIntensity(rs, processing.ProfileOptions{Location: loc}); f != nil {
			t.Errorf("every %d days: LearnIntensity != nil (method %q) on flat use", every, p.Method)
		}
		if !p.Linear() || p.Method != "linear" {
			t.Errorf("every %d days: method %q, want linear", every, p.Method)
		}
	}
}

func TestLearnProfileShortHistoryUsesPattern(t *testing.T) {
	loc := profLoc(t, "Europe/Berlin")
	pat := processing.Pattern{15.1, 12, 12.5, 8.1, 3.5, 3.2, 2.7, 3.6, 5.2, 8.4, 12.2, 14.5}
	start := time.Date(2023, 10, 1, 0, 0, 0, 0, loc)
	rate := func(d time.Time) float64 {
		y, m, _ := d.Date()
		dim := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
		return 3650 * pat[m-1] / 100 / float64(dim)
	}
	s := newProfSynth(loc, start, 240, rate)
	cases := []struct {
		name  string
		every int
	}{
		{"few readings", 70}, // 4 readings: too few to cross-validate
		{"fortnightly", 14},  // enough to check the pattern against linear
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := s.readings(rand.New(rand.NewPCG(11, 12)), tc.every, 0)
			p := processing.LearnProfile(rs, processing.ProfileOptions{Location: loc, Pattern: &pat})
			if !strings.Contains(p.Method, "pattern") {
				t.Fatalf("method %q does not use the pattern", p.Method)
			}
			jan, may := s.day(92), s.day(212) // 2024-01-01, 2024-04-29 … May
			want := rate(jan) / rate(may)
			got := p.Intensity(jan) / p.Intensity(may)
			if math.Abs(got/want-1) > 0.1 {
				t.Errorf("January/May intensity = %.2f, want %.2f ± 10 %%", got, want)
			}
			// Without the pattern there is nothing to go on but the readings.
			if q := processing.LearnProfile(rs, processing.ProfileOptions{Location: loc}); strings.Contains(q.Method, "pattern") {
				t.Errorf("method %q uses a pattern that was not configured", q.Method)
			}
		})
	}
}

// TestLearnedIntensityKeepsReadingsExact checks the property that matters
// most: whatever the profile, BuildDaily reproduces every reading.
func TestLearnedIntensityKeepsReadingsExact(t *testing.T) {
	loc := profLoc(t, "Europe/London")
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 99))
		start := time.Date(2018, 1, 1, 0, 0, 0, 0, loc)
		amp, we := rng.Float64(), 0.3+rng.Float64()
		s := newProfSynth(loc, start, 500+rng.IntN(800), func(d time.Time) float64 {
			v := 10 * (1 + 0.9*amp*math.Cos(2*math.Pi*float64(d.YearDay())/365)) * (1 + 0.3*rng.NormFloat64())
			if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
				v *= we
			}
			return math.Max(v, 0)
		})
		// Readings at local midnights so that Day.Reading must equal them.
		var rs []processing.Reading
		for i := 0; i < len(s.use); i += 3 + rng.IntN(40) {
			rs = append(rs, processing.Reading{Time: s.day(i), Value: math.Floor(s.register(s.day(i)))})
		}
		f := processing.LearnIntensity(rs, processing.ProfileOptions{Location: loc})
		ser, err := processing.BuildDaily(rs, processing.DailyOptions{
			Location: loc, From: rs[0].Time, To: rs[len(rs)-1].Time, Intensity: f,
		})
		if err != nil {
			t.Fatalf("seed %d: BuildDaily: %v", seed, err)
		}
		byDay := map[int64]processing.Day{}
		for _, d := range ser.Days {
			byDay[d.Date.In(loc).Unix()] = d
			if !math.IsNaN(d.Consumption) && d.Consumption < 0 {
				t.Errorf("seed %d: negative use %g on %s", seed, d.Consumption, d.Date)
			}
		}
		for _, r := range rs {
			d, ok := byDay[r.Time.Unix()]
			if !ok || math.Abs(d.Reading-r.Value) > 1e-6*math.Max(1, r.Value) {
				t.Errorf("seed %d: register on %s = %v, reading %v", seed, r.Time.Format(time.DateOnly), d.Reading, r.Value)
			}
		}
	}
}

func TestLearnProfileRobustInput(t *testing.T) {
	loc := profLoc(t, "Europe/Berlin")
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, loc)
	at := func(days int, v float64) processing.Reading {
		return processing.Reading{Time: base.AddDate(0, 0, days), Value: v}
	}
	cases := []struct {
		name     string
		readings []processing.Reading
	}{
		{"none", nil},
		{"one", []processing.Reading{at(0, 5)}},
		{"reset", []processing.Reading{at(0, 100), at(10, 200), at(20, 5), at(30, 105), at(40, 205), at(50, 300), at(60, 410), at(70, 500)}},
		{"nan and duplicates", []processing.Reading{at(0, 1), at(0, 1), at(5, math.NaN()), at(10, 11), at(20, math.Inf(1)), at(30, 40)}},
		{"constant", []processing.Reading{at(0, 7), at(10, 7), at(20, 7), at(30, 7), at(40, 7), at(50, 7), at(60, 7)}},
		{"hourly", func() []processing.Reading {
			var rs []processing.Reading
			for h := range 24 * 60 {
				rs = append(rs, processing.Reading{Time: base.Add(time.Duration(h) * time.Hour), Value: float64(h) * 0.5})
			}
			return rs
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := processing.LearnProfile(tc.readings, processing.ProfileOptions{Location: loc})
			for i := -30; i < 120; i++ {
				v := p.Intensity(base.AddDate(0, 0, i))
				if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
					t.Fatalf("intensity on day %d = %v, want finite and positive (method %q)", i, v, p.Method)
				}
			}
		})
	}
}

func TestLearnProfileOrderIndependent(t *testing.T) {
	loc := profLoc(t, "Europe/London")
	start := time.Date(2019, 1, 1, 0, 0, 0, 0, loc)
	s := newProfSynth(loc, start, 800, func(d time.Time) float64 {
		return 50 + 30*math.Cos(2*math.Pi*float64(d.YearDay())/365)
	})
	rs := s.readings(rand.New(rand.NewPCG(13, 14)), 14, 2)
	shuffled := append([]processing.Reading(nil), rs...)
	rand.New(rand.NewPCG(15, 16)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	a := processing.LearnProfile(rs, processing.ProfileOptions{Location: loc})
	b := processing.LearnProfile(shuffled, processing.ProfileOptions{Location: loc})
	if a.Method != b.Method {
		t.Fatalf("method %q sorted, %q shuffled", a.Method, b.Method)
	}
	for i := range 800 {
		d := s.day(i)
		if x, y := a.Intensity(d), b.Intensity(d); x != y {
			t.Fatalf("%s: intensity %v sorted, %v shuffled", d.Format(time.DateOnly), x, y)
		}
	}
}
