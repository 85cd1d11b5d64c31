package processing_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// TestEstimateRate covers DP-2..DP-5 and the §2.3 observed values.
func TestEstimateRate(t *testing.T) {
	noisy := make([]float64, 30)
	rng := rand.New(rand.NewPCG(42, 0))
	for k := range noisy {
		noisy[k] = 100 + 2*float64(k) + rng.NormFloat64()*0.5
	}
	linear := make([]float64, 10)
	for k := range linear {
		linear[k] = 100 + 2.5*float64(k)
	}
	tests := []struct {
		name     string
		values   []float64 // daily readings
		min, max float64   // accepted rate
		minR2    float64
		method   processing.RateMethod
	}{
		{"DP-2 insufficient", []float64{100}, 0, 0, 0, processing.RateInsufficient},
		{"DP-3 linear", linear, 2.49, 2.51, 0.99, processing.RateRegression},
		{"DP-4 noisy", noisy, 1.5, 2.5, 0.7, processing.RateRegression},
		{"DP-5 zero", slices.Repeat([]float64{100}, 10), 0, 0, 1, processing.RateRegression},
		{"median pairwise", []float64{0, 10, 11}, 5.5, 5.5, 0, processing.RateMedianPairwise},
		{"first to last", []float64{0, 10}, 10, 10, 0, processing.RateFirstLast},
		{"negative clamped", []float64{10, 8, 6, 4}, 0, 0, 0.99, processing.RateRegression},
		// R² = 245²/(10·9970) = 0.602 > 0.6: the OLS slope −24.5 wins and is clamped.
		{"weak negative fit", []float64{100, 110, 5, 15, 25}, 0, 0, 0.6, processing.RateRegression},
		{"empty", nil, 0, 0, 0, processing.RateInsufficient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := make([]processing.Reading, len(tc.values))
			for k, v := range tc.values {
				rs[k] = processing.Reading{Time: day(time.UTC, 2024, 1, 1+k), Value: v}
			}
			// Order must not matter.
			slices.Reverse(rs)
			got := processing.EstimateRateDetail(rs)
			if got.PerDay < tc.min-1e-12 || got.PerDay > tc.max+1e-12 {
				t.Errorf("rate %v, want [%v, %v]", got.PerDay, tc.min, tc.max)
			}
			if got.R2 < tc.minR2 {
				t.Errorf("R² %v, want ≥ %v", got.R2, tc.minR2)
			}
			if got.Method != tc.method {
				t.Errorf("method %v, want %v", got.Method, tc.method)
			}
			if r := processing.EstimateRate(rs); r != got.PerDay {
				t.Errorf("EstimateRate %v, detail %v", r, got.PerDay)
			}
		})
	}
}

// naiveMedianSlope is the old O(n²) median of pairwise slopes.
func naiveMedianSlope(rs []processing.Reading) float64 {
	var s []float64
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if dx := rs[j].Time.Sub(rs[i].Time).Hours() / 24; dx > 0 {
				s = append(s, (rs[j].Value-rs[i].Value)/dx)
			}
		}
	}
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestEstimateRateMedian checks the median path: exact up to the sample size,
// and still robust above it, where it works on a strided subsample (W-20).
func TestEstimateRateMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// Small: a weak trend in heavy noise, so R² is low and the median decides.
	small := make([]processing.Reading, 300)
	for i := range small {
		small[i] = processing.Reading{Time: day(time.UTC, 2024, 1, 1).Add(time.Duration(i) * 7 * time.Hour), Value: 0.1*float64(i) + 50*rng.NormFloat64()}
	}
	got := processing.EstimateRateDetail(small)
	want := naiveMedianSlope(small)
	if got.Method != processing.RateMedianPairwise || !near(got.PerDay, want, 1e-12) {
		t.Errorf("n=300: %+v, want median pairwise %v", got, want)
	}

	// Large: 2/day with a 10⁶ spike on every 10th reading. The spikes ruin
	// the fit (R² ≈ 0), but most pairs are clean, so the median is 2.
	large := make([]processing.Reading, 100_000)
	for i := range large {
		v := 2 * float64(i)
		if i%10 == 3 {
			v += 1e6
		}
		large[i] = processing.Reading{Time: day(time.UTC, 2000, 1, 1+i), Value: v}
	}
	got = processing.EstimateRateDetail(large)
	if got.Method != processing.RateMedianPairwise || !near(got.PerDay, 2, 1e-9) {
		t.Errorf("n=100000: %+v, want median pairwise 2", got)
	}
}

func TestEstimateRateSkipsNonFinite(t *testing.T) {
	rs := []processing.Reading{
		{Time: day(time.UTC, 2024, 1, 1), Value: 0},
		{Time: day(time.UTC, 2024, 1, 2), Value: math.NaN()},
		{Time: day(time.UTC, 2024, 1, 3), Value: math.Inf(1)},
		{Time: day(time.UTC, 2024, 1, 5), Value: 8},
	}
	if got := processing.EstimateRate(rs); got != 2 {
		t.Errorf("rate %v, want 2", got)
	}
}

func BenchmarkEstimateRate(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		rs := make([]processing.Reading, n)
		for i := range rs {
			v := 2 * float64(i)
			if i%10 == 3 {
				v += 1e6 // forces the median path
			}
			rs[i] = processing.Reading{Time: day(time.UTC, 2000, 1, 1).Add(time.Duration(i) * time.Hour), Value: v}
		}
		b.Run("median-"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				processing.EstimateRate(rs)
			}
		})
	}
}
