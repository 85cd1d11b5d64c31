package processing

// Tests that the shortcuts taken for speed answer as what they replace.

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
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
