package processing_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// fromUse builds a measured daily series from daily use (registers from 0).
func fromUse(start time.Time, use ...float64) []processing.Day {
	regs := make([]float64, len(use)+1)
	for i, u := range use {
		regs[i+1] = regs[i] + u
	}
	return measured(start, regs...)
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// I-5: 100 days of 2.0 with 20 at index 30 and 25 at index 70. The spec
// observed exactly these two, with global z 6.052446 and 7.772869 (sample
// std of the 100 values), IQR bounds 2/2 and rolling z 5.294651; the global
// z is the larger, so it is the Score.
func TestDetectAnomaliesI5(t *testing.T) {
	use := repeat(2, 100)
	use[30], use[70] = 20, 25
	days := fromUse(date(2024, 1, 1), use...)
	got := processing.DetectAnomalies(days, nil, berlin, processing.AnomalyOptions{Method: processing.MethodConsensus})
	want := []struct {
		idx   int
		v, z  float64
		tests []string
	}{
		{30, 20, 6.052446, []string{"zscore", "iqr", "rolling"}},
		{70, 25, 7.772869, []string{"zscore", "iqr", "rolling"}},
	}
	if len(got) != len(want) {
		t.Fatalf("DetectAnomalies = %+v, want 2 anomalies", got)
	}
	for i, w := range want {
		g := got[i]
		if !g.Date.Equal(days[w.idx].Date.In(berlin)) || g.Days != 1 || g.Consumption != w.v || g.Expected != 2 ||
			math.Abs(g.Score-w.z) > 1e-6 || !slices.Equal(g.Tests, w.tests) || g.Kind != "spike" {
			t.Errorf("anomaly %d = %+v, want day %d, use %v, expected 2, score %v, tests %v, spike", i, g, w.idx, w.v, w.z, w.tests)
		}
	}
}

// Spec §6: an N(10,1) series with zeros at rows 0 and 50 had exactly those
// two rows flagged (z −11.36, count 3). They were artefacts (day 1 is 0 by
// construction, a clipped reset). Zero days are idle days now and are not
// judged, while a real drop is still found.
func TestDetectAnomaliesZerosNotFlagged(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	use := make([]float64, 100)
	for i := range use {
		use[i] = 10 + r.NormFloat64()
	}
	use[0], use[50] = 0, 0
	use[80] = 3 // far below anything N(10,1) gives in 100 draws
	days := fromUse(date(2024, 1, 1), use...)
	got := processing.DetectAnomalies(days, nil, berlin, processing.AnomalyOptions{Method: processing.MethodConsensus})
	found := false
	for _, a := range got {
		if a.Date.Equal(days[0].Date.In(berlin)) || a.Date.Equal(days[50].Date.In(berlin)) {
			t.Errorf("zero day flagged: %+v", a)
		}
		if a.Date.Equal(days[80].Date.In(berlin)) {
			found = true
			if a.Kind != "drop" || a.Consumption != 3 || a.Score < 3 {
				t.Errorf("drop = %+v, want kind drop, use 3, score > 3", a)
			}
		}
	}
	if !found {
		t.Errorf("DetectAnomalies = %+v, want the drop on day 80", got)
	}
}

// A sparsely read meter is judged per reading interval: a week of high use
// is one anomaly covering 7 days, not seven daily ones.
func TestDetectAnomaliesIntervals(t *testing.T) {
	const weeks = 70
	var rs []processing.Reading
	v := 0.0
	start := time.Date(2024, 1, 1, 18, 30, 0, 0, berlin)
	for w := 0; w <= weeks; w++ {
		rs = append(rs, processing.Reading{Time: start.AddDate(0, 0, 7*w), Value: v})
		if w == 40 {
			v += 35 // 5/day
		} else {
			v += 7 // 1/day
		}
	}
	// The daily series as BuildDaily would interpolate it (values do not
	// matter for interval judging, only the span).
	use := repeat(1, 7*weeks+1)
	for i := 7*40 + 1; i <= 7*41; i++ {
		use[i] = 5
	}
	days := fromUse(date(2024, 1, 1), use...)
	for i := range days {
		days[i].Quality = processing.QualityInterpolated
	}
	got := processing.DetectAnomalies(days, rs, berlin, processing.AnomalyOptions{Method: processing.MethodConsensus})
	if len(got) != 1 {
		t.Fatalf("DetectAnomalies = %+v, want one interval", got)
	}
	a := got[0]
	if !a.Date.Equal(date(2024, 1, 1).AddDate(0, 0, 280)) || a.Days != 7 || math.Abs(a.Consumption-5) > 1e-9 ||
		a.Expected != 1 || a.Kind != "spike" {
		t.Errorf("anomaly = %+v, want 7 days from day 280, 5/day, expected 1", a)
	}
}

// A meter read daily is judged day by day, but only where it was read:
// days interpolated across a longer gap, extrapolated days and unknown days
// are not judged.
func TestDetectAnomaliesDailyMeterSkipsGaps(t *testing.T) {
	use := repeat(2, 120)
	for i := 40; i < 46; i++ {
		use[i] = 12 // catch-up spread over a 6-day gap
	}
	use[80] = 20  // real spike
	use[100] = 30 // extrapolated
	days := fromUse(date(2024, 1, 1), use...)
	var rs []processing.Reading
	for i, d := range days {
		if i > 40 && i < 46 {
			days[i].Quality = processing.QualityInterpolated
			continue // no readings in the gap
		}
		if i == 40 {
			days[i].Quality = processing.QualityInterpolated
		}
		rs = append(rs, processing.Reading{Time: d.Date.In(berlin), Value: d.Reading})
	}
	days[100].Quality = processing.QualityExtrapolated
	days[110].Consumption = math.NaN()
	days[110].Quality = processing.QualityUnknown
	got := processing.DetectAnomalies(days, rs, berlin, processing.AnomalyOptions{Method: processing.MethodConsensus})
	if len(got) != 1 || !got[0].Date.Equal(days[80].Date.In(berlin)) {
		t.Errorf("DetectAnomalies = %+v, want only day 80", got)
	}
}

func TestDetectAnomaliesTooFew(t *testing.T) {
	use := repeat(2, 59)
	use[30] = 50
	if got := processing.DetectAnomalies(fromUse(date(2024, 1, 1), use...), nil, berlin, processing.AnomalyOptions{Method: processing.MethodConsensus}); got != nil {
		t.Errorf("59 values: %+v, want none (spec: at least 60)", got)
	}
	use = repeat(0, 100)
	for i := range 29 {
		use[i*3] = 2
	}
	use[60] = 50
	if got := processing.DetectAnomalies(fromUse(date(2024, 1, 1), use...), nil, berlin, processing.AnomalyOptions{Method: processing.MethodConsensus}); got != nil {
		t.Errorf("30 positive values: %+v, want none (spec: at least 30 positive)", got)
	}
	if got := processing.DetectAnomalies(fromUse(date(2024, 1, 1), repeat(2, 100)...), nil, berlin, processing.AnomalyOptions{Method: "magic"}); got != nil {
		t.Errorf("unknown method: %+v, want none", got)
	}
}
