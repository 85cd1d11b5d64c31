package processing_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// seasonalUse is n days of use from 2021-01-01 with a winter peak, a lower
// weekend and 5 % day-to-day noise: the shape the profile must absorb.
func seasonalUse(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	use := make([]float64, n)
	for i := range use {
		d := date(2021, 1, 1).AddDate(0, 0, i)
		v := 100 * (1 + 0.5*math.Cos(2*math.Pi*float64(d.YearDay()-15)/365.25))
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			v *= 0.7
		}
		use[i] = v * (1 + 0.05*r.NormFloat64())
	}
	return use
}

// registers returns the register at each midnight from 2021-01-01.
func registers(use []float64) []processing.Reading {
	rs := make([]processing.Reading, len(use)+1)
	c := 1000.0
	for i := range rs {
		rs[i] = processing.Reading{Time: date(2021, 1, 1).AddDate(0, 0, i), Value: c}
		if i < len(use) {
			c += use[i]
		}
	}
	return rs
}

// detectProfile builds the daily series as Process does and runs the
// default method.
func detectProfile(t *testing.T, rs []processing.Reading) []processing.Anomaly {
	t.Helper()
	s, err := processing.BuildDaily(rs, processing.DailyOptions{Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	return processing.DetectAnomalies(s.Days, rs, berlin, processing.AnomalyOptions{})
}

func dayOf(i int) time.Time { return date(2021, 1, 1).AddDate(0, 0, i) }

func TestProfileCleanSeasonalSeriesHasNoAlarms(t *testing.T) {
	for seed := range uint64(5) {
		if got := detectProfile(t, registers(seasonalUse(3*365, seed))); len(got) != 0 {
			t.Errorf("seed %d: %d anomalies on a clean seasonal series, first %+v", seed, len(got), got[0])
		}
	}
}

func TestProfileKinds(t *testing.T) {
	const n = 3 * 365
	tests := []struct {
		name     string
		edit     func(use []float64, rs []processing.Reading) []processing.Reading
		kind     string
		from, to int // the anomaly must start in [from, to]…
		days     int // …and last this many days (0: any)
		evidence string
	}{
		{"spike", func(use []float64, _ []processing.Reading) []processing.Reading {
			use[400] *= 4
			return registers(use)
		}, processing.AnomalySpike, 400, 400, 1, processing.EvidenceMeasured},
		{"stuck with catch-up", func(use []float64, _ []processing.Reading) []processing.Reading {
			rs := registers(use)
			for i := 501; i <= 507; i++ { // no change from day 500 to 506
				rs[i].Value = rs[500].Value
			}
			return rs
		}, processing.AnomalyStuck, 500, 500, 8, processing.EvidenceMeasured},
		{"stuck at the end", func(use []float64, _ []processing.Reading) []processing.Reading {
			for i := n - 6; i < n; i++ {
				use[i] = 0
			}
			return registers(use)
		}, processing.AnomalyStuck, n - 6, n - 6, 6, processing.EvidenceMeasured},
		{"typo ×10", func(use []float64, _ []processing.Reading) []processing.Reading {
			rs := registers(use)
			rs[300].Value *= 10
			return rs
		}, processing.AnomalyTypo, 300, 300, 1, processing.EvidenceReading},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			use := seasonalUse(n, 1)
			got := detectProfile(t, tc.edit(use, nil))
			if len(got) != 1 {
				t.Fatalf("got %d anomalies, want one %s: %+v", len(got), tc.kind, got)
			}
			a := got[0]
			if a.Kind != tc.kind || a.Date.Before(dayOf(tc.from)) || a.Date.After(dayOf(tc.to)) ||
				(tc.days > 0 && a.Days != tc.days) || a.Evidence != tc.evidence {
				t.Errorf("got %+v, want %s from day %d..%d (%s) lasting %d days, evidence %s",
					a, tc.kind, tc.from, tc.to, dayOf(tc.from).Format(time.DateOnly), tc.days, tc.evidence)
			}
			if tc.kind == processing.AnomalySpike && (a.Consumption < 3*a.Expected || a.Score < 5) {
				t.Errorf("spike %+v: want use ≈ 4 × expected and a score of at least 5", a)
			}
		})
	}
}

// hourlyWater is a household read hourly: use only between 07:00 and 23:00,
// so every night is dry, with extra litres per hour from leakFrom for
// leakHours.
func hourlyWater(days int, leakFrom time.Time, leakHours int, seed uint64) []processing.Reading {
	r := rand.New(rand.NewPCG(seed, 3))
	var rs []processing.Reading
	c := 5000.0
	start := date(2021, 1, 1)
	for h := 0; h <= days*24; h++ {
		t := start.Add(time.Duration(h) * time.Hour)
		rs = append(rs, processing.Reading{Time: t, Value: math.Floor(c)})
		if hr := t.In(berlin).Hour(); hr >= 7 && hr < 23 && r.IntN(3) > 0 {
			c += 5 + 20*r.Float64()
		}
		if !t.Before(leakFrom) && t.Before(leakFrom.Add(time.Duration(leakHours)*time.Hour)) {
			c += 3
		}
	}
	return rs
}

// Use halved for 60 days is two changes of level: down, then back up.
func TestProfileLevelShift(t *testing.T) {
	use := seasonalUse(3*365, 1)
	for i := 600; i < 660; i++ {
		use[i] *= 0.5
	}
	got := detectProfile(t, registers(use))
	if len(got) != 2 {
		t.Fatalf("got %+v, want two level shifts", got)
	}
	for k, w := range []struct {
		day  int
		down bool
	}{{600, true}, {660, false}} {
		a := got[k]
		off := math.Abs(a.Date.Sub(dayOf(w.day)).Hours() / 24)
		if a.Kind != processing.AnomalyLevelShift || off > 3 || (a.Consumption < a.Expected) != w.down ||
			math.Abs(a.Consumption/a.Expected-map[bool]float64{true: 0.5, false: 2}[w.down]) > 0.3 {
			t.Errorf("anomaly %d = %+v, want a level shift within 3 days of day %d, down %v", k, a, w.day, w.down)
		}
	}
}

func TestProfileLeakFromNights(t *testing.T) {
	clean := hourlyWater(200, time.Time{}, 0, 1)
	if got := detectProfile(t, clean); len(got) != 0 {
		t.Fatalf("clean hourly water: %+v, want none", got)
	}
	// 3 L/h for five days from noon on day 100: nights 101–105 are wet.
	rs := hourlyWater(200, dayOf(100).Add(12*time.Hour), 5*24, 1)
	got := detectProfile(t, rs)
	if len(got) != 1 {
		t.Fatalf("got %+v, want one leak", got)
	}
	if a := got[0]; a.Kind != processing.AnomalyLeak || !a.Date.Equal(dayOf(101)) || a.Days != 5 ||
		a.Evidence != processing.EvidenceNight || math.Abs(a.Consumption-72) > 24 {
		t.Errorf("got %+v, want a leak over the nights of days 101–105 with a floor of about 3 L/h (72 L/day)", a)
	}
}

// Zero days are idle days: neither single zero days nor a stand-still of a
// meter that often stands still are anomalies.
func TestProfileZeroDaysNeverAlarm(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	use := seasonalUse(2*365, 2)
	for i := range use {
		if r.IntN(4) == 0 {
			use[i] = 0
		}
	}
	for i := 300; i < 310; i++ {
		use[i] = 0 // ten idle days of a meter idle a quarter of the time
	}
	for _, a := range detectProfile(t, registers(use)) {
		i := int(math.Round(a.Date.Sub(dayOf(0)).Hours() / 24))
		if use[i] == 0 || a.Kind == processing.AnomalyStuck {
			t.Errorf("alarm on an idle meter's zero day: %+v", a)
		}
	}
}

// A sparse meter's interval is one value whose noise shrinks with its
// length: an excess that is a spike on a measured day is plausible spread
// over four weeks, while a whole interval at three times its level is not.
func TestProfileEvidence(t *testing.T) {
	const n = 700
	r := rand.New(rand.NewPCG(4, 4))
	base := make([]float64, n)
	for i := range base {
		base[i] = 10 + r.NormFloat64()
	}
	daily := func(use []float64) []processing.Reading { return registers(use) }
	sparse := func(use []float64) []processing.Reading {
		rs := registers(use)
		var out []processing.Reading
		for i := 0; i < len(use); i += 28 {
			out = append(out, processing.Reading{Time: rs[i].Time.Add(9 * time.Hour), Value: rs[i].Value + use[i]*9/24})
		}
		return out
	}
	excess := func(total float64, from, days int) []float64 {
		use := append([]float64(nil), base...)
		for i := from; i < from+days; i++ {
			use[i] += total / float64(days)
		}
		return use
	}
	// 25 units is 25 noise scales on one day, 25/√28 ≈ 4.7 over 28 days.
	if got := detectProfile(t, daily(excess(25, 340, 1))); len(got) != 1 || got[0].Kind != processing.AnomalySpike ||
		!got[0].Date.Equal(dayOf(340)) || got[0].Evidence != processing.EvidenceMeasured {
		t.Errorf("measured day with +25: %+v, want one spike on day 340", got)
	}
	if got := detectProfile(t, sparse(excess(25, 336, 28))); len(got) != 0 {
		t.Errorf("28-day interval with +25 in total: %+v, want none", got)
	}
	got := detectProfile(t, sparse(excess(2*280, 336, 28)))
	if len(got) != 1 || got[0].Kind != processing.AnomalySpike || got[0].Days != 28 ||
		got[0].Evidence != processing.EvidenceInterval || math.Abs(got[0].Consumption/got[0].Expected-3) > 0.3 {
		t.Errorf("28-day interval at 3× its level: %+v, want one 28-day spike judged as an interval", got)
	}
}

func TestProfileTooFewValues(t *testing.T) {
	use := seasonalUse(50, 3)
	use[25] *= 10
	if got := detectProfile(t, registers(use)); len(got) != 0 {
		t.Errorf("50 days: %+v, want none (too few to know the meter)", got)
	}
}

// Derived meters have no readings: their measured days are judged.
func TestProfileWithoutReadings(t *testing.T) {
	use := seasonalUse(400, 5)
	use[200] *= 5
	days := fromUse(dayOf(0), use...)
	got := processing.DetectAnomalies(days, nil, berlin, processing.AnomalyOptions{Method: processing.MethodProfile})
	if len(got) != 1 || !got[0].Date.Equal(dayOf(200)) || got[0].Kind != processing.AnomalySpike {
		t.Errorf("got %+v, want one spike on day 200", got)
	}
}

func TestAnomalyOptionsValidate(t *testing.T) {
	for _, m := range []string{"", processing.MethodProfile, processing.MethodConsensus} {
		if err := (processing.AnomalyOptions{Method: m}).Validate(); err != nil {
			t.Errorf("Validate(%q) = %v", m, err)
		}
	}
	if err := (processing.AnomalyOptions{Method: "oracle"}).Validate(); err == nil {
		t.Error("Validate(oracle) = nil, want ErrUnknownMethod")
	}
}
