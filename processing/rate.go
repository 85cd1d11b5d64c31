package processing

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// RateMethod names how a rate was estimated.
type RateMethod string

// Rate methods, in the order EstimateRateDetail tries them (spec §2.3).
const (
	RateInsufficient   RateMethod = "insufficient_data" // fewer than two readings
	RateRegression     RateMethod = "regression"        // OLS slope, n ≥ 4 and R² > 0.6
	RateMedianPairwise RateMethod = "median_pairwise"   // median of pairwise slopes, n ≥ 3
	RateFirstLast      RateMethod = "first_last"        // (last − first) / span
)

// RateEstimate is a meter's estimated use per day and how it was found.
type RateEstimate struct {
	PerDay float64    // use per day (a day being 86400 s), never negative
	R2     float64    // R² of the OLS fit; 0 when no fit was made
	Method RateMethod // which rule chose PerDay
}

// pairwiseSampleSize bounds the median-of-pairwise-slopes: above it, the
// slopes are taken between pairs of an evenly strided subsample of this many
// readings (first and last always included). That keeps the cost at about
// 80 000 slopes (milliseconds) for any n, where the old pipeline's O(n²) loop
// took 8.7 s for 900 points (W-20). The sample is deterministic, so the same
// readings always give the same rate.
const pairwiseSampleSize = 400

// EstimateRate returns the use per day of a meter from its real readings (any
// order), for extrapolation. See EstimateRateDetail.
func EstimateRate(readings []Reading) float64 { return EstimateRateDetail(readings).PerDay }

// EstimateRateDetail estimates the use per day with the old pipeline's rules,
// minus its redundant second regression (spec §2.3): with n ≥ 4 readings and
// R² > 0.6 the OLS slope (a constant register counts as R² = 1, slope 0); else
// with n ≥ 3 the median of pairwise slopes, if positive; else the slope from
// the first to the last reading. The result is clamped at 0. Readings with a
// non-finite value are skipped. Pass real readings only: synthetic rows would
// feed the estimate its own output (W-5).
func EstimateRateDetail(readings []Reading) RateEstimate {
	return estimateRateDetail(readings, new(rateScratch))
}

// rateScratch holds estimateRateDetail's working memory, to be reused from
// one call to the next; every element it reads is written first.
type rateScratch struct {
	xs, ys, slopes []float64
	idx            []int
}

// estimateRateDetail is EstimateRateDetail with its working memory in sc.
func estimateRateDetail(readings []Reading, sc *rateScratch) RateEstimate {
	// The input itself when it is finite and sorted (the usual case), else
	// a sorted copy of its finite readings.
	finite := func(r Reading) bool { return !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) }
	rs, copied := readings, false
	if slices.ContainsFunc(readings, func(r Reading) bool { return !finite(r) }) {
		rs = make([]Reading, 0, len(readings))
		for _, r := range readings {
			if finite(r) {
				rs = append(rs, r)
			}
		}
		copied = true
	}
	byTime := func(a, b Reading) int { return a.Time.Compare(b.Time) }
	if !slices.IsSortedFunc(rs, byTime) {
		if !copied {
			rs = slices.Clone(rs)
		}
		slices.SortStableFunc(rs, byTime)
	}
	n := len(rs)
	if n < 2 {
		return RateEstimate{Method: RateInsufficient}
	}
	clk := clock{origin: rs[0].Time}
	xs, ys := grow(&sc.xs, n), grow(&sc.ys, n)
	for i, r := range rs {
		xs[i] = clk.secs(r.Time) / secondsPerDay
		ys[i] = r.Value
	}
	clamp := func(v float64) float64 {
		if !(v > 0) || math.IsInf(v, 0) {
			return 0
		}
		return v
	}

	if n >= 4 && xs[n-1] > xs[0] {
		// Exact comparison, not stat.Variance: the mean of equal values can
		// round, leaving a tiny variance and a meaningless R².
		if !slices.ContainsFunc(ys, func(y float64) bool { return y != ys[0] }) {
			return RateEstimate{PerDay: 0, R2: 1, Method: RateRegression}
		}
		alpha, beta := stat.LinearRegression(xs, ys, nil, false)
		r2 := stat.RSquared(xs, ys, nil, alpha, beta)
		if r2 > 0.6 {
			return RateEstimate{PerDay: clamp(beta), R2: r2, Method: RateRegression}
		}
	}
	if n >= 3 {
		if m, ok := medianPairwiseSlope(xs, ys, sc); ok && m > 0 {
			return RateEstimate{PerDay: clamp(m), Method: RateMedianPairwise}
		}
	}
	slope := 0.0
	if span := xs[n-1] - xs[0]; span > 0 {
		slope = (ys[n-1] - ys[0]) / span
	}
	return RateEstimate{PerDay: clamp(slope), Method: RateFirstLast}
}

// medianPairwiseSlope returns the median of (y_j − y_i)/(x_j − x_i) over
// pairs i < j with x_j > x_i (the mean of the middle two for an even count, as
// numpy's median), on xs sorted ascending. Above pairwiseSampleSize points it
// works on a strided subsample.
func medianPairwiseSlope(xs, ys []float64, sc *rateScratch) (float64, bool) {
	n := len(xs)
	idx := slices.Grow(sc.idx[:0], min(n, pairwiseSampleSize))
	if n <= pairwiseSampleSize {
		for i := range n {
			idx = append(idx, i)
		}
	} else {
		// i·(n−1)/(m−1) is strictly increasing for n > m and hits 0 and n−1.
		m := pairwiseSampleSize
		for i := range m {
			idx = append(idx, i*(n-1)/(m-1))
		}
	}
	sc.idx = idx
	slopes := slices.Grow(sc.slopes[:0], len(idx)*(len(idx)-1)/2)
	for a, i := range idx {
		for _, j := range idx[a+1:] {
			if dx := xs[j] - xs[i]; dx > 0 {
				slopes = append(slopes, (ys[j]-ys[i])/dx)
			}
		}
	}
	sc.slopes = slopes
	if len(slopes) == 0 {
		return 0, false
	}
	slices.SortFunc(slopes, cmp.Compare[float64])
	h := len(slopes) / 2
	if len(slopes)%2 == 1 {
		return slopes[h], true
	}
	return (slopes[h-1] + slopes[h]) / 2, true
}
