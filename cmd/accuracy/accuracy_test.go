package main

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meteragent/meteragent/cmd/internal/dense"
	"github.com/meteragent/meteragent/cmd/internal/dense/densetest"
	"github.com/meteragent/meteragent/processing"
)

// days builds truth days from 2024-01-01 (UTC) with the given use.
func days(use []float64) []truthDay {
	out := make([]truthDay, len(use))
	for i, u := range use {
		out[i] = truthDay{Date: time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC), Consumption: u, Valid: true}
	}
	return out
}

func all(n bool, k int) []bool {
	out := make([]bool, k)
	for i := range out {
		out[i] = n
	}
	return out
}

func TestScoreDaysHandMade(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	t.Run("daily", func(t *testing.T) {
		truth := days([]float64{10, 10, 10, 40})
		truth[3].Valid = false // must not count even though it is badly rebuilt
		s := scoreDays([]float64{12, 9, 10, 0}, truth, all(true, 4))
		// |2|+|−1|+0 = 3 over 30; bias (2−1+0)/30.
		if !near(s.NMAE(), 0.1) || !near(s.NMBE(), 1.0/30) || s.Days != 3 {
			t.Errorf("NMAE %v, NMBE %v, days %d; want 0.1, 1/30, 3", s.NMAE(), s.NMBE(), s.Days)
		}
		if !math.IsNaN(s.MonthlyMedian()) {
			t.Errorf("monthly median %v from a 3-day month, want NaN", s.MonthlyMedian())
		}
	})
	t.Run("scored window", func(t *testing.T) {
		scored := []bool{false, true, true, false}
		s := scoreDays([]float64{0, 11, 10, 0}, days([]float64{10, 10, 10, 10}), scored)
		if !near(s.NMAE(), 0.05) || s.Days != 2 {
			t.Errorf("NMAE %v over %d days, want 0.05 over 2", s.NMAE(), s.Days)
		}
	})
	t.Run("monthly", func(t *testing.T) {
		// January: 31 days, all rebuilt 10 % high; February: 29 days, 20 % low
		// on the first 10, exact after, but only 24 valid, so it does not count;
		// March: 31 days exact except +31 on one day (10 % of the month).
		use := make([]float64, 31+29+31)
		reb := make([]float64, len(use))
		for i := range use {
			use[i] = 10
			reb[i] = 10
		}
		for i := range 31 {
			reb[i] = 11
		}
		for i := 31; i < 41; i++ {
			reb[i] = 8
		}
		reb[70] = 41
		truth := days(use)
		for i := 31; i < 36; i++ {
			truth[i].Valid = false
		}
		s := scoreDays(reb, truth, all(true, len(use)))
		if len(s.MonthErr) != 2 {
			t.Fatalf("%d months scored, want 2 (February has 24 valid days): %v", len(s.MonthErr), s.MonthErr)
		}
		if !near(s.MonthErr[0], 0.1) || !near(s.MonthErr[1], 0.1) || !near(s.MonthlyMedian(), 0.1) {
			t.Errorf("month errors %v, median %v; want 0.1 each", s.MonthErr, s.MonthlyMedian())
		}
	})
	t.Run("median even", func(t *testing.T) {
		s := score{MonthErr: []float64{0.4, 0.1, 0.3, 0.2}}
		if !near(s.MonthlyMedian(), 0.25) {
			t.Errorf("median %v, want 0.25", s.MonthlyMedian())
		}
	})
}

// synthetic builds a dense series with seasonal and weekday structure and
// day-to-day noise, read like a Cambridge series (uniform within a day).
func synthetic(id string, loc *time.Location, n int, seed uint64) *series {
	rng := rand.New(rand.NewPCG(seed, 1))
	start := time.Date(2015, 1, 1, 0, 0, 0, 0, loc)
	s := &series{ID: id, Utility: "gas", Loc: loc, Resolution: 1}
	cum := make([]float64, n)
	c := 0.0
	for i := range n {
		d := start.AddDate(0, 0, i)
		v := 200 * (1 + 0.7*math.Cos(2*math.Pi*float64(d.YearDay()-20)/365.25))
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			v *= 0.6
		}
		v *= 1 + 0.1*rng.NormFloat64()
		v = math.Max(v, 0)
		c += v
		cum[i] = c
		s.Days = append(s.Days, truthDay{Date: d, Consumption: v, Valid: true})
	}
	s.First = start
	s.Last = start.AddDate(0, 0, n).Add(-time.Second)
	s.Register = func(t time.Time) float64 {
		mid := localMidnight(t, loc)
		i := int(math.Round(mid.Sub(start).Hours() / 24))
		i = min(max(i, 0), n-1)
		frac := float64(t.Sub(mid)) / float64(mid.AddDate(0, 0, 1).Sub(mid))
		return cum[i] - s.Days[i].Consumption*(1-frac)
	}
	return s
}

func TestHarnessSyntheticBeatsLinear(t *testing.T) {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Skipf("Europe/London unavailable: %v", err)
	}
	s := synthetic("synthetic", loc, 3*365, 7)
	methods := []method{linearMethod, meteragentMethod(processing.ProfileOptions{})}
	for _, sc := range schemes {
		t.Run(sc.Name, func(t *testing.T) {
			scores, _, err := evaluate(s, sc, 1, methods, false)
			if err != nil {
				t.Fatal(err)
			}
			lin, ma := scores[0], scores[1]
			if lin.Days < 300 || lin.Days != ma.Days {
				t.Fatalf("scored %d and %d days, want the same ≥ 300", lin.Days, ma.Days)
			}
			// Readings are exact (up to the 1 kWh dial), so both methods
			// must have almost no bias.
			if math.Abs(lin.NMBE()) > 0.002 || math.Abs(ma.NMBE()) > 0.002 {
				t.Errorf("bias linear %v, meteragent %v: want ≈ 0", lin.NMBE(), ma.NMBE())
			}
			if ma.NMAE() >= lin.NMAE() {
				t.Errorf("NMAE meteragent %.4f, linear %.4f: want lower", ma.NMAE(), lin.NMAE())
			}
			// The weekend is −40 % of use: with weekly or fortnightly readings
			// there is enough to learn it, and spreading it right removes a
			// large part of linear's error.
			if sc.D == 7 || sc.D == 14 {
				if ma.NMAE() > 0.8*lin.NMAE() {
					t.Errorf("NMAE meteragent %.4f, linear %.4f: want ≤ 80 %% of linear", ma.NMAE(), lin.NMAE())
				}
			}
		})
	}
}

func TestScheduleFollowsProtocol(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Skipf("Europe/Madrid unavailable: %v", err)
	}
	s := synthetic("sched", loc, 400, 1)
	for _, sc := range schemes {
		rng := rand.New(rand.NewPCG(seedFor(1, s.ID, sc)))
		at := schedule(s, sc, rng)
		if len(at) < 8 {
			t.Fatalf("D=%s: %d readings", sc.Name, len(at))
		}
		for i, tm := range at {
			lt := tm.In(loc)
			if h := lt.Hour(); h < 7 || h > 21 || (h == 21 && (lt.Minute() > 0 || lt.Second() > 0)) {
				t.Errorf("D=%s: reading at %s, outside 07:00–21:00", sc.Name, lt)
			}
			if i == 0 {
				continue
			}
			gap := localMidnight(tm, loc).Sub(localMidnight(at[i-1], loc)).Hours() / 24
			lo, hi := 3.0, 45.0
			if sc.D > 0 {
				shift := math.Round(float64(sc.D) / 7)
				lo, hi = float64(sc.D)-2*shift, float64(sc.D)+2*shift
			}
			if g := math.Round(gap); g < lo || g > hi {
				t.Errorf("D=%s: gap of %v days, want %v–%v", sc.Name, g, lo, hi)
			}
		}
		rs := takeReadings(s, at)
		for i, r := range rs {
			if r.Value != math.Floor(r.Value) || r.Value > s.Register(r.Time) || s.Register(r.Time)-r.Value >= 1 {
				t.Errorf("D=%s: reading %v is not the register %v rounded down", sc.Name, r.Value, s.Register(r.Time))
			}
			if i > 0 && r.Value < rs[i-1].Value {
				t.Errorf("D=%s: readings decrease", sc.Name)
			}
		}
	}
}

func TestMissingDataFailsClearly(t *testing.T) { densetest.MissingDirFails(t, run) }

// TestDenseReduced runs a reduced benchmark on the real data: three series,
// one scheme. It skips only outside CI when the data is absent.
func TestDenseReduced(t *testing.T) {
	denseDir := densetest.NeedReal(t)
	index, err := dense.ReadIndex(denseDir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"cam_elec_b21": true, "cam_gas_b25": true, "daiad_water_58e154b1": true}
	methods := []method{linearMethod, meteragentMethod(processing.ProfileOptions{})}
	var lin, ma score
	n := 0
	for _, e := range index {
		if !want[e.ID] {
			continue
		}
		d, err := dense.Load(denseDir, e)
		if err != nil {
			t.Fatal(err)
		}
		s := newSeries(d)
		scores, _, err := evaluate(s, scheme{"14", 14}, 1, methods, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: NMAE linear %.4f, meteragent %.4f", e.ID, scores[0].NMAE(), scores[1].NMAE())
		if scores[1].NMAE() > scores[0].NMAE() {
			t.Errorf("%s: NMAE meteragent %.4f > linear %.4f", e.ID, scores[1].NMAE(), scores[0].NMAE())
		}
		lin.add(scores[0])
		ma.add(scores[1])
		n++
	}
	if n != len(want) {
		t.Fatalf("found %d of %d series in %s", n, len(want), denseDir)
	}
	if ma.NMAE() > lin.NMAE() {
		t.Errorf("pooled NMAE meteragent %.4f > linear %.4f", ma.NMAE(), lin.NMAE())
	}
}
