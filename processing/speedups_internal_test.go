package processing

// Tests that the shortcuts taken for speed answer as what they replace.

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// windowCursor answers as window does, whichever way the bounds move.
func TestWindowCursorMatchesWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		vs := make([]pmValue, r.IntN(40))
		dn := 0
		for i := range vs {
			dn += r.IntN(4)
			vs[i] = pmValue{dn: dn, k: 1 + r.IntN(5)}
		}
		c := windowCursor{vs: vs}
		for range 100 {
			from := r.IntN(dn+10) - 5
			to := from + r.IntN(20) - 3
			lo, hi := window(vs, from, to)
			clo, chi := c.window(from, to)
			if lo != clo || hi != chi {
				t.Fatalf("window(%d, %d) = %d, %d; cursor %d, %d", from, to, lo, hi, clo, chi)
			}
		}
	}
}

// unitMedian is weightedMedian of values of weight 1.
func TestUnitMedianMatchesWeightedMedian(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 30 {
		xs := make([]float64, n)
		ws := make([]wv, n)
		for i := range xs {
			xs[i] = float64(r.IntN(7)) / 3 // ties too
			ws[i] = wv{xs[i], 1}
		}
		slices.Sort(xs)
		got, want := unitMedian(xs), weightedMedian(ws)
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("n=%d: unitMedian %v, weightedMedian %v", n, got, want)
		}
	}
}

// nthSmallest is the value a sort puts at k.
func TestNthSmallestMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 1; n < 60; n++ {
		for range 20 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(r.IntN(n)) - r.Float64()*float64(r.IntN(2))
			}
			sorted := slices.Sorted(slices.Values(xs))
			k := r.IntN(n)
			if got := nthSmallest(slices.Clone(xs), k); got != sorted[k] {
				t.Fatalf("n=%d k=%d: %v, sorted %v", n, k, got, sorted[k])
			}
		}
	}
}

// LearnProfile's pooled scratch carries nothing from one meter to the next:
// a profile learned after others, or with other values left in the pools,
// equals the one learned first.
func TestLearnProfileScratchReuse(t *testing.T) {
	loc := time.UTC
	r := rand.New(rand.NewPCG(7, 8))
	// A meter read about every given days, with idle weeks and a reset.
	meter := func(days int, every float64) []Reading {
		var rs []Reading
		c := 0.0
		start := time.Date(2021, 1, 1, 7, 0, 0, 0, loc)
		for d := 0.0; d < float64(days); d += every * (0.5 + r.Float64()) {
			tm := start.Add(time.Duration(d * 24 * float64(time.Hour)))
			rs = append(rs, Reading{Time: tm, Value: math.Floor(c)})
			rate := 1 + 0.5*math.Cos(2*math.Pi*d/365)
			if wd := tm.Weekday(); wd == time.Saturday || wd == time.Sunday {
				rate *= 1.7
			}
			if r.IntN(30) == 0 {
				rate = 0
			}
			c += rate * every * (0.5 + r.Float64()) * 10
			if len(rs) == 100 {
				c = 0
			}
		}
		return rs
	}
	var temps []Reading
	for tm := time.Date(2020, 12, 1, 0, 0, 0, 0, loc); tm.Year() < 2025; tm = tm.Add(6 * time.Hour) {
		temps = append(temps, Reading{Time: tm, Value: 10 - 8*math.Cos(2*math.Pi*float64(tm.YearDay())/365)})
	}
	key := func(p *Profile) string {
		s := fmt.Sprint(p.Method, p.Weekday, p.CVError, p.CVLinear)
		for d := time.Date(2020, 11, 1, 0, 0, 0, 0, loc); d.Year() < 2025; d = d.AddDate(0, 0, 1) {
			s += fmt.Sprint(p.Intensity(d), p.Shape(d))
		}
		return s
	}
	a, b, c := meter(500, 1), meter(1400, 3), meter(900, 1)
	for _, opt := range []ProfileOptions{{Location: loc}, {Location: loc, NoSmooth: true}, {Location: loc, Temperatures: temps}} {
		first := key(LearnProfile(a, opt))
		LearnProfile(b, opt)
		LearnProfile(c, opt).release()
		if again := key(LearnProfile(a, opt)); again != first {
			t.Fatalf("options %+v: the profile changed after learning others", opt)
		}
		for _, poison := range []float64{math.NaN(), 12345.678} {
			PoisonPools(poison)
			if again := key(LearnProfile(a, opt)); again != first {
				t.Fatalf("options %+v: the profile depends on what the pools held (%v)", opt, poison)
			}
		}
	}
}

// A scratch buffer grown for one meter serves a later one up to twice as
// long without another array (scratchRoom).
func TestGrowLeavesRoom(t *testing.T) {
	var buf []float64
	a := grow(&buf, 1000)
	if b := grow(&buf, scratchRoom*1000); &a[0] != &b[0] {
		t.Fatalf("grow allocated again for %d elements after 1000", scratchRoom*1000)
	}
}

// PoisonPools fills the pools of scratch that processing reuses between
// meters with buffers whose every element is v (a value no computation
// writes), large enough for any test series: a result that depends on what
// a pooled buffer held before changes with v. Exported for the external
// tests (this file is compiled into their binary).
func PoisonPools(v float64) {
	const n = 1 << 15
	fill := func(xs []float64) []float64 {
		for i := range xs {
			xs[i] = v
		}
		return xs
	}
	at := time.Unix(int64(v)%1e9, 0)
	for range 4 { // more than one caller may take one at a time
		day := fill(make([]float64, n))
		dayValuesPool.Put(&day)

		s := make([]sample, n)
		for i := range s {
			s[i] = sample{date: at, days: int(v) % 7, value: v, src: &judgeSource{}}
		}
		s = s[:0]
		samplePool.Put(&s)

		unix := make([]int64, n)
		for i := range unix {
			unix[i] = int64(v) % 1e9
		}
		dailyScratchPool.Put(&dailyScratch{unix: unix, cum: fill(make([]float64, n)),
			rate: rateScratch{xs: fill(make([]float64, n)), ys: fill(make([]float64, n)),
				slopes: fill(make([]float64, n)), idx: make([]int, n)}})

		sc := new(profScratch)
		sc.smooth.corrDay, sc.smooth.corrSum = make([]int, n), fill(make([]float64, n))
		profScratchPool.Put(sc)
	}
}

// sortedAt and selectMedian answer as a sort does (and unitMedian of it),
// with ties, infinities and NaNs; zeros of one sign only (the sort does not
// order -0 and +0).
func TestSelectionMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for n := range 40 {
		for range 30 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(r.IntN(n+1)) - float64(n)/3 // ties and negatives
				switch r.IntN(25) {
				case 0:
					xs[i] = math.Inf(1 - 2*r.IntN(2))
				case 1:
					xs[i] = math.NaN()
				}
			}
			sorted := slices.Sorted(slices.Values(xs))
			same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
			if got, want := selectMedian(slices.Clone(xs)), unitMedian(sorted); !same(got, want) {
				t.Fatalf("selectMedian(%v) = %v, want %v", xs, got, want)
			}
			if n > 0 {
				k := r.IntN(n)
				if got, _ := sortedAt(slices.Clone(xs), k); !same(got, sorted[k]) {
					t.Fatalf("sortedAt(%v, %d) = %v, want %v", xs, k, got, sorted[k])
				}
			}
		}
	}
}

// afterUnix and equalUnix answer as After and Equal against the instant of
// whole Unix seconds, before 1970 too and for instants with a monotonic
// clock reading.
func TestAfterEqualUnixMatchTime(t *testing.T) {
	now := time.Now() // carries a monotonic reading
	for _, at := range []time.Time{now, now.Round(0), time.Unix(-86400*400, 0), time.Unix(-86400*400, 1), time.Unix(1e9, 999999999).In(time.FixedZone("x", 3600))} {
		u := at.Unix()
		for _, m := range []int64{u - 1, u, u + 1} {
			mt := time.Unix(m, 0).In(time.UTC)
			if got, want := afterUnix(at, m), at.After(mt); got != want {
				t.Errorf("afterUnix(%v, %d) = %v, After %v", at, m, got, want)
			}
			if got, want := equalUnix(at, m), at.Equal(mt); got != want {
				t.Errorf("equalUnix(%v, %d) = %v, Equal %v", at, m, got, want)
			}
		}
	}
}

// sortedWindow holds exactly the values of its range, sorted, whichever way
// the range moves, also when some values are NaN or repeat (find matched
// values with ==, which a NaN never satisfies: dropping one panicked).
func TestSortedWindowMoves(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		vals := make([]wv, 1+r.IntN(30))
		for i := range vals {
			switch r.IntN(4) {
			case 0:
				vals[i] = wv{x: math.NaN(), w: 1}
			case 1:
				vals[i] = wv{x: 2, w: float64(1 + r.IntN(2))} // repeats
			default:
				vals[i] = wv{x: r.NormFloat64(), w: 1}
			}
		}
		var w sortedWindow
		w.reset(len(vals), func(i int) (wv, bool) { return vals[i], i%7 != 3 })
		for range 50 {
			lo := r.IntN(len(vals))
			hi := lo + r.IntN(len(vals)-lo+1)
			w.moveTo(lo, hi)
			var want []wv
			for i := lo; i < hi; i++ {
				if i%7 != 3 {
					want = append(want, vals[i])
				}
			}
			slices.SortStableFunc(want, func(a, b wv) int { return cmpWV(a, b) })
			got := slices.Clone(w.xs)
			slices.SortStableFunc(got, func(a, b wv) int { return cmpWV(a, b) }) // equal x: any weight order
			if len(got) != len(want) || !slices.EqualFunc(got, want, sameWV) {
				t.Fatalf("window [%d, %d) holds %v, want %v", lo, hi, w.xs, want)
			}
			if !slices.IsSortedFunc(w.xs, func(a, b wv) int { return cmp.Compare(a.x, b.x) }) {
				t.Fatalf("window [%d, %d) not sorted: %v", lo, hi, w.xs)
			}
		}
	}
}

func cmpWV(a, b wv) int {
	if c := cmp.Compare(a.x, b.x); c != 0 {
		return c
	}
	return cmp.Compare(a.w, b.w)
}
