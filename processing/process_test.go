package processing_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/processing/synth"
)

// daily returns readings at consecutive local midnights from start, so that
// BuildDaily's registers are the readings themselves.
func atMidnights(start time.Time, vals ...float64) []processing.Reading {
	rs := make([]processing.Reading, len(vals))
	for i, v := range vals {
		rs[i] = processing.Reading{Time: start.AddDate(0, 0, i), Value: v}
	}
	return rs
}

func useOf(days []processing.Day) []float64 {
	out := make([]float64, len(days))
	for i, d := range days {
		out[i] = d.Consumption
	}
	return out
}

func testHouse(ms ...processing.Meter) processing.House {
	return processing.House{Meters: ms, Location: berlin}
}

func phys(id string) processing.Meter {
	return processing.Meter{ID: id, Kind: processing.Physical, Unit: processing.KWh}
}

func virt(id, base string, subs ...string) processing.Meter {
	m := processing.Meter{ID: id, Kind: processing.Virtual, Unit: processing.KWh, Base: base}
	for _, s := range subs {
		m.Subtract = append(m.Subtract, processing.Subtrahend{ID: s})
	}
	return m
}

func master(id string, sum bool, srcs ...string) processing.Meter {
	return processing.Meter{ID: id, Kind: processing.Master, Unit: processing.KWh,
		Periods: []processing.Period{{Start: date(2024, 1, 1), Sum: sum, Sources: srcs}}}
}

func runOne(t *testing.T, rs []processing.Reading, to time.Time) processing.MeterResult {
	t.Helper()
	res, err := processing.Process(testHouse(phys("p")), map[string][]processing.Reading{"p": rs},
		processing.RunOptions{From: date(2024, 1, 1), To: to})
	if err != nil {
		t.Fatal(err)
	}
	return res.Meters[0]
}

// Spec §10.2 CC-1..CC-4 and §10.9 I-4, through Day consumption. The old
// calculator put 0 on the first row (its use was unknown to it) and clipped a
// reset to 0; a Day carries the use of the day it happened and the last
// day's use is unknown.
func TestProcessConsumptionCases(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name string
		vals []float64
		want []float64
	}{
		{"CC-1", []float64{100, 102.5, 105, 108, 110.5}, []float64{2.5, 2.5, 3, 2.5, nan}},
		{"CC-2", []float64{100, 102.5, 105}, []float64{2.5, 2.5, nan}},
		{"I-4", rampOf(100, 2, 10), append(repeat(2, 9), nan)},
	} {
		r := runOne(t, atMidnights(date(2024, 1, 1), c.vals...), date(2024, 1, len(c.vals)))
		got := useOf(r.Days)
		if len(got) != len(c.want) {
			t.Errorf("%s: use = %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if !sameFloat(got[i], c.want[i]) {
				t.Errorf("%s: use = %v, want %v", c.name, got, c.want)
				break
			}
		}
		if r.Stats.MeasuredDays != len(c.vals)-1 || r.Stats.Readings != len(c.vals) {
			t.Errorf("%s: stats = %+v, want %d measured days and %d readings", c.name, r.Stats, len(c.vals)-1, len(c.vals))
		}
	}

	t.Run("CC-3 reset", func(t *testing.T) {
		r := runOne(t, atMidnights(date(2024, 1, 1), 100, 102.5, 10, 12.5), date(2024, 1, 4))
		u := useOf(r.Days)
		if len(u) != 4 || u[0] != 2.5 || u[2] != 2.5 || !(u[1] > 0) {
			t.Errorf("use = %v, want 2.5, >0 (not lost), 2.5, NaN", u)
		}
		if k := eventKinds(r.Events); k[processing.EventReset] != 1 {
			t.Errorf("events = %v, want a reset", r.Events)
		}
	})

	t.Run("CC-4 empty", func(t *testing.T) {
		r := runOne(t, nil, date(2024, 1, 4))
		if len(r.Days) != 0 || len(r.Months) != 0 || len(r.Events) != 1 || r.Events[0].Kind != processing.EventNoData {
			t.Errorf("result = %+v, want no days and one no_data event", r)
		}
	})
}

func eventKinds(evs []processing.Event) map[processing.EventKind]int {
	m := map[processing.EventKind]int{}
	for _, e := range evs {
		m[e.Kind]++
	}
	return m
}

// A small house: two physical meters, a master summing them, a virtual meter
// on the master and a virtual of that virtual, listed in the worst order.
func TestProcessHouse(t *testing.T) {
	h := testHouse(
		virt("v2", "v", "p2"), // v − p2: nothing left
		virt("v", "m", "p1"),  // m − p1 = p2's use
		master("m", true, "p1", "p2"),
		phys("p1"),
		phys("p2"),
		phys("silent"),
		virt("v3", "p1", "silent"),
	)
	rs := map[string][]processing.Reading{
		"p1": atMidnights(date(2024, 1, 1), rampOf(10, 1, 40)...),
		"p2": atMidnights(date(2024, 1, 1), rampOf(500, 2, 40)...),
	}
	to := date(2024, 2, 9) // 40 days
	res, err := processing.Process(h, rs, processing.RunOptions{From: date(2024, 1, 1), To: to})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	by := map[string]processing.MeterResult{}
	for _, r := range res.Meters {
		order = append(order, r.Meter.ID)
		by[r.Meter.ID] = r
	}
	if got, want := strings.Join(order, " "), "p1 p2 silent m v v2 v3"; got != want {
		t.Fatalf("order = %s, want %s", got, want)
	}
	for id, want := range map[string]float64{"p1": 1, "p2": 2, "m": 3, "v": 2, "v2": 0} {
		d := by[id].Days
		if len(d) != 40 {
			t.Errorf("%s: %d days, want 40", id, len(d))
			continue
		}
		for i, x := range d[:39] {
			if !sameFloat(x.Consumption, want) || x.Quality != processing.QualityMeasured {
				t.Errorf("%s day %d = %+v, want use %v measured", id, i, x, want)
				break
			}
		}
		if !math.IsNaN(d[39].Consumption) {
			t.Errorf("%s: last day use = %v, want unknown", id, d[39].Consumption)
		}
		if len(by[id].Events) != 0 {
			t.Errorf("%s: events %v, want none", id, by[id].Events)
		}
	}
	if d := by["m"].Days[5]; d.Reading != 15+510 {
		t.Errorf("m reading on day 5 = %v, want 525", d.Reading)
	}
	if d := by["v"].Days; d[0].Reading != 0 || d[39].Reading != 78 {
		t.Errorf("v register = %v … %v, want 0 … 78 (cumulative use)", d[0].Reading, d[39].Reading)
	}
	// Monthly derived from the daily master.
	if ms := by["m"].Months; len(ms) != 2 || ms[0].Reading != 510 || ms[0].Consumption != 93 || ms[1].Reading != 603 {
		t.Errorf("m months = %+v, want January from 510 using 93, February from 603", ms)
	}
	st := by["p1"].Stats
	if st.Readings != 40 || !st.FirstReading.Equal(date(2024, 1, 1)) || !st.LastReading.Equal(to) ||
		st.LongestGap != 24*time.Hour || st.MeasuredDays != 39 {
		t.Errorf("p1 stats = %+v", st)
	}
	if k := eventKinds(by["silent"].Events); k[processing.EventNoData] != 1 {
		t.Errorf("silent events = %v, want no_data", by["silent"].Events)
	}
	if k := eventKinds(by["v3"].Events); k[processing.EventMissingSource] != 1 || !math.IsNaN(by["v3"].Days[0].Consumption) {
		t.Errorf("v3 = %+v, want unknown days and a missing_source event", by["v3"])
	}
}

func TestProcessErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		h     processing.House
		opt   processing.RunOptions
		want  error
		names []string
	}{
		{"cycle", testHouse(phys("p"), virt("a", "b"), virt("b", "c", "p"), virt("c", "a")), processing.RunOptions{},
			processing.ErrCycle, []string{"a", "b", "c"}},
		{"self", testHouse(virt("a", "a")), processing.RunOptions{}, processing.ErrCycle, []string{"a"}},
		{"unknown source", testHouse(phys("p"), master("m", true, "p", "nope")), processing.RunOptions{},
			processing.ErrUnknownMeter, []string{`"m"`, `"nope"`}},
		{"unknown subtrahend", testHouse(phys("p"), virt("v", "p", "ghost")), processing.RunOptions{},
			processing.ErrUnknownMeter, []string{`"v"`, `"ghost"`}},
		{"duplicate", testHouse(phys("p"), phys("p")), processing.RunOptions{}, processing.ErrDuplicateMeter, []string{`"p"`}},
		{"no location", processing.House{Meters: []processing.Meter{phys("p")}}, processing.RunOptions{}, processing.ErrNoLocation, nil},
		{"method", testHouse(phys("p")), processing.RunOptions{Anomaly: processing.AnomalyOptions{Method: "oracle"}},
			processing.ErrUnknownMethod, []string{"oracle"}},
		{"kind", testHouse(processing.Meter{ID: "k"}), processing.RunOptions{}, processing.ErrInvalidMeter, []string{`"k"`}},
	} {
		_, err := processing.Process(c.h, nil, c.opt)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
			continue
		}
		for _, n := range c.names {
			if !strings.Contains(err.Error(), n) {
				t.Errorf("%s: %q does not name %s", c.name, err, n)
			}
		}
	}
}

// Anomalies of a daily-read meter reach derived meters: the master of a
// meter with a spike flags the same day; a master of a sparsely read meter
// judges nothing day by day.
func TestProcessAnomalies(t *testing.T) {
	vals := make([]float64, 101)
	for i := 1; i < len(vals); i++ {
		vals[i] = vals[i-1] + 2
		if i == 51 {
			vals[i] += 18 // day 50 uses 20
		}
	}
	var sparse []processing.Reading
	for i := 0; i < len(vals); i += 10 {
		sparse = append(sparse, processing.Reading{Time: date(2024, 1, 1).AddDate(0, 0, i).Add(9 * time.Hour), Value: vals[i]})
	}
	h := testHouse(phys("d"), phys("s"), master("md", false, "d"), master("ms", false, "s"))
	res, err := processing.Process(h, map[string][]processing.Reading{"d": atMidnights(date(2024, 1, 1), vals...), "s": sparse},
		processing.RunOptions{From: date(2024, 1, 1), To: date(2024, 1, 1).AddDate(0, 0, 100)})
	if err != nil {
		t.Fatal(err)
	}
	spike := date(2024, 1, 1).AddDate(0, 0, 50)
	for _, r := range res.Meters {
		switch r.Meter.ID {
		case "d", "md":
			if len(r.Anomalies) != 1 || !r.Anomalies[0].Date.Equal(spike) || r.Anomalies[0].Consumption != 20 {
				t.Errorf("%s anomalies = %+v, want day 50 with 20", r.Meter.ID, r.Anomalies)
			}
		case "s", "ms":
			if len(r.Anomalies) != 0 {
				t.Errorf("%s anomalies = %+v, want none (10 intervals are too few; interpolated days are not judged)", r.Meter.ID, r.Anomalies)
			}
		}
	}
}

// synthHouse is synth.House in Berlin.
func synthHouse(n, years int) (processing.House, map[string][]processing.Reading, processing.RunOptions) {
	return synth.House(n, years, berlin)
}

func BenchmarkProcess(b *testing.B) {
	for _, c := range []struct{ meters, years int }{{26, 6}, {250, 10}, {500, 5}, {500, 10}} {
		h, rs, opt := synthHouse(c.meters, c.years)
		n := 0
		for _, r := range rs {
			n += len(r)
		}
		b.Run(fmt.Sprintf("meters=%d/years=%d/readings=%d", c.meters, c.years, n), func(b *testing.B) {
			for b.Loop() {
				if _, err := processing.Process(h, rs, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The synthetic house is also a smoke test: every meter gets a series and
// the balance of each virtual meter holds on its known days.
func TestProcessSynthetic(t *testing.T) {
	h, rs, opt := synthHouse(60, 2)
	res, err := processing.Process(h, rs, opt)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]processing.MeterResult{}
	use := map[string]map[processing.Date]float64{} // meter → day → use
	for _, r := range res.Meters {
		by[r.Meter.ID] = r
		use[r.Meter.ID] = map[processing.Date]float64{}
		for _, d := range r.Days {
			use[r.Meter.ID][d.Date] = d.Consumption
		}
		if len(r.Days) == 0 {
			t.Errorf("%s: no days", r.Meter.ID)
		}
	}
	if len(res.Meters) != 60 {
		t.Fatalf("%d results, want 60", len(res.Meters))
	}
	for _, m := range h.Meters {
		if m.Kind != processing.Virtual {
			continue
		}
		v, base := by[m.ID], by[m.Base]
		for i, d := range v.Days {
			if math.IsNaN(d.Consumption) {
				continue
			}
			sum := d.Consumption
			for _, s := range m.Subtract {
				sum += use[s.ID][d.Date]
			}
			if math.Abs(sum-base.Days[i].Consumption) > 1e-9*math.Max(1, math.Abs(sum)) {
				t.Fatalf("%s %s: virtual + subtrahends = %v, base %v", m.ID, d.Date, sum, base.Days[i].Consumption)
			}
		}
	}
}

// What processing reuses between meters (pooled scratch) carries nothing
// from one meter to the next: Process gives the same result whatever the
// pools' buffers held before. The house has structure to learn (season,
// weekends, heating degree days), dense and sparse meters, a typo, a
// seasonal pattern, series that start after the readings and extrapolate
// beyond them, a master and a virtual meter; it runs with and without
// learned profiles and with either anomaly method.
func TestProcessPoolsCarryNothing(t *testing.T) {
	from, to := time.Date(2021, 1, 1, 0, 0, 0, 0, berlin), time.Date(2023, 1, 1, 0, 0, 0, 0, berlin)
	// use per day on day d: seasonal, more at weekends, idle some days.
	rate := func(d float64) float64 {
		r := 10 + 6*math.Cos(2*math.Pi*d/365)
		if wd := from.AddDate(0, 0, int(d)).Weekday(); wd == time.Saturday || wd == time.Sunday {
			r *= 1.8
		}
		if int(d)%41 == 7 {
			r = 0
		}
		return r
	}
	// A meter read every few days (every[k % len(every)]) from day a to b.
	read := func(a, b float64, every ...float64) []processing.Reading {
		var rs []processing.Reading
		c := 500.0
		for d, k := a, 0; d < b; k++ {
			rs = append(rs, processing.Reading{Time: from.Add(time.Duration((d + 0.3) * float64(24*time.Hour))), Value: math.Round(c*10) / 10})
			step := every[k%len(every)]
			for x := d; x < d+step; x++ {
				c += rate(x) * min(1, d+step-x)
			}
			d += step
		}
		return rs
	}
	pattern := processing.Pattern{3, 3, 2, 1, 1, 0.5, 0.5, 0.5, 1, 1, 2, 3}
	phys := func(id string) processing.Meter {
		return processing.Meter{ID: id, Kind: processing.Physical, Unit: processing.KWh}
	}
	h := processing.House{Location: berlin, Meters: []processing.Meter{
		phys("daily"), phys("sparse"), phys("patterned"), phys("late"),
		{ID: "sum", Kind: processing.Master, Unit: processing.KWh, Periods: []processing.Period{{Start: from, Sum: true, Sources: []string{"daily", "sparse"}}}},
		{ID: "rest", Kind: processing.Virtual, Unit: processing.KWh, Base: "sum", Subtract: []processing.Subtrahend{{ID: "late"}}},
	}}
	h.Meters[2].Pattern = &pattern
	rs := map[string][]processing.Reading{
		"daily":     read(-30, 730, 1),
		"sparse":    read(-50, 700, 3, 9, 5, 14, 4),
		"patterned": read(100, 640, 7, 12, 20),
		"late":      read(20, 730, 2, 1, 6, 3),
	}
	rs["sparse"][40].Value = rs["sparse"][50].Value // a typo: off in both directions
	var temps []processing.Reading
	for tm := from.AddDate(0, -2, 0); tm.Before(to); tm = tm.Add(6 * time.Hour) {
		temps = append(temps, processing.Reading{Time: tm, Value: 9 - 9*math.Cos(2*math.Pi*float64(tm.YearDay())/365)})
	}
	profiles := &processing.ProfileOptions{Temperatures: temps}
	if p := processing.LearnProfile(rs["daily"], processing.ProfileOptions{Location: berlin, Temperatures: temps}); p.Linear() {
		t.Fatalf("the daily meter learns a linear profile: nothing per day is tested")
	}
	opt := processing.RunOptions{From: from.AddDate(0, 0, 10), To: to, MaxExtrapolationDays: 60}
	for _, learn := range []bool{true, false} {
		for _, method := range []string{processing.MethodProfile, processing.MethodConsensus} {
			opt.Profiles, opt.Anomaly.Method = nil, method
			if learn {
				opt.Profiles = profiles
			}
			var want string
			for k, poison := range []float64{math.NaN(), 12345.678, -1e6} {
				processing.PoisonPools(poison)
				res, err := processing.Process(h, rs, opt)
				if err != nil {
					t.Fatal(err)
				}
				got := fmt.Sprintf("%v", res)
				if k == 0 {
					want = got
				} else if got != want {
					t.Fatalf("profiles %v, method %s: the result depends on what the pools held", learn, method)
				}
			}
		}
	}
}

// Readings in any order, with a NaN and a duplicate, give the same stats
// and series as sorted clean ones.
func TestProcessUnsortedReadings(t *testing.T) {
	// 01-01 0, 01-02 1, 01-03 2, none on 01-04 (a 48 h gap), 01-05 6.
	rs := []processing.Reading{
		{Time: date(2024, 1, 1), Value: 0}, {Time: date(2024, 1, 2), Value: 1},
		{Time: date(2024, 1, 3), Value: 2}, {Time: date(2024, 1, 5), Value: 6},
	}
	nan := processing.Reading{Time: date(2024, 1, 4).Add(12 * time.Hour), Value: math.NaN()}
	messy := []processing.Reading{rs[3], rs[1], nan, rs[0], rs[2], rs[1]}
	opt := processing.RunOptions{From: date(2024, 1, 1), To: date(2024, 1, 5)}
	clean, err := processing.Process(testHouse(phys("p")), map[string][]processing.Reading{"p": rs}, opt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := processing.Process(testHouse(phys("p")), map[string][]processing.Reading{"p": messy}, opt)
	if err != nil {
		t.Fatal(err)
	}
	st := got.Meters[0].Stats
	want := processing.Stats{Readings: 4, FirstReading: date(2024, 1, 1), LastReading: date(2024, 1, 5),
		LongestGap: 48 * time.Hour, MeasuredDays: 2, InterpolatedDays: 2}
	if st != want || clean.Meters[0].Stats != want {
		t.Errorf("stats = %+v (sorted input %+v), want %+v", st, clean.Meters[0].Stats, want)
	}
	a, b := useOf(got.Meters[0].Days), useOf(clean.Meters[0].Days)
	for i := range a {
		if !sameFloat(a[i], b[i]) {
			t.Fatalf("use from messy readings %v, from sorted %v", a, b)
		}
	}
}

// The seed house's gas replacement through BuildDaily: gas_zahler_alt (last
// day of use 2024-11-12, final reading at 11-13 00:00) and gas_zahler
// (installed 11-13), composed with an offset, then eg_kalfire = gas_total −
// gastherme_gesamt (kWh → m³ with the default gas factor).
func TestProcessGasReplacement(t *testing.T) {
	old := processing.Meter{ID: "gas_zahler_alt", Kind: processing.Physical, Unit: processing.M3, Removed: date(2024, 11, 12)}
	neu := processing.Meter{ID: "gas_zahler", Kind: processing.Physical, Unit: processing.M3, Installed: date(2024, 11, 13)}
	therme := phys("gastherme_gesamt")
	gas := processing.Meter{ID: "gas_total", Kind: processing.Master, Unit: processing.M3, Periods: []processing.Period{
		{Start: date(2024, 10, 1), End: date(2024, 11, 12), Sources: []string{"gas_zahler_alt"}, SourceUnit: processing.M3},
		{Start: date(2024, 11, 13), Sources: []string{"gas_zahler"}, SourceUnit: processing.M3, ApplyOffset: true},
	}}
	kalfire := processing.Meter{ID: "eg_kalfire", Kind: processing.Virtual, Unit: processing.M3, Base: "gas_total",
		Subtract: []processing.Subtrahend{{ID: "gastherme_gesamt", From: processing.KWh, To: processing.M3}}}
	const g = 11.504 * 0.8885
	rs := map[string][]processing.Reading{
		"gas_zahler_alt":   atMidnights(date(2024, 10, 1), rampOf(1000, 1, 44)...),  // 10-01 … 11-13
		"gas_zahler":       atMidnights(date(2024, 11, 13), rampOf(0, 2, 49)...),    // 11-13 … 12-31
		"gastherme_gesamt": atMidnights(date(2024, 10, 1), rampOf(0, 0.5*g, 92)...), // 0.5 m³/day in kWh
	}
	res, err := processing.Process(testHouse(kalfire, gas, old, neu, therme), rs,
		processing.RunOptions{From: date(2024, 10, 1), To: date(2024, 12, 31)})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]processing.MeterResult{}
	for _, r := range res.Meters {
		by[r.Meter.ID] = r
	}
	m := by["gas_total"]
	if len(m.Events) != 0 {
		t.Errorf("gas_total events = %v, want none", m.Events)
	}
	if n := len(m.Days); n != 92 || m.Days[0].Reading != 1000 || m.Days[n-1].Reading != 1139 {
		t.Fatalf("gas_total: %d days from %v to %v, want 92 from 1000 to 1139 (43 × 1 + 48 × 2, no day lost)",
			n, m.Days[0].Reading, m.Days[n-1].Reading)
	}
	// Monthly agrees with daily: each month's use is the register difference.
	ms := m.Months
	for i := 0; i+1 < len(ms); i++ {
		if !sameFloat(ms[i].Consumption, ms[i+1].Reading-ms[i].Reading) {
			t.Errorf("month %d: use %v, registers %v → %v", i, ms[i].Consumption, ms[i].Reading, ms[i+1].Reading)
		}
	}
	k := by["eg_kalfire"]
	for i, d := range k.Days[:len(k.Days)-1] {
		want := 0.5 // 1 − 0.5 before the replacement
		if d.Date >= processing.DateOf(date(2024, 11, 13)) {
			want = 1.5
		}
		if math.Abs(d.Consumption-want) > 1e-9 {
			t.Fatalf("eg_kalfire day %d (%s) = %v, want %v", i, d.Date, d.Consumption, want)
		}
	}
}

func TestMeterInputs(t *testing.T) {
	for _, c := range []struct {
		m    processing.Meter
		want []string
	}{
		{processing.Meter{ID: "p", Kind: processing.Physical}, nil},
		{processing.Meter{ID: "m", Kind: processing.Master, Periods: []processing.Period{{Sources: []string{"a"}}, {Sources: []string{"b", "c"}}}}, []string{"a", "b", "c"}},
		{processing.Meter{ID: "v", Kind: processing.Virtual, Base: "t", Subtract: []processing.Subtrahend{{ID: "x"}, {ID: "y"}}}, []string{"t", "x", "y"}},
	} {
		if got := c.m.Inputs(); !slices.Equal(got, c.want) {
			t.Errorf("%s: Inputs() = %v, want %v", c.m.ID, got, c.want)
		}
	}
}

// A meter whose readings all lie outside From..To has no days there, and so
// no anomalies either: nothing is reported outside the window asked for.
func TestProcessNoAnomaliesOutsideWindow(t *testing.T) {
	start := date(2022, 1, 3)
	var daily, weekly []processing.Reading
	v := 0.0
	for i := 0; i < 730; i++ {
		use := 2.0
		if i == 400 {
			use = 60
		}
		daily = append(daily, processing.Reading{Time: start.AddDate(0, 0, i).Add(9 * time.Hour), Value: v})
		if i%7 == 0 {
			weekly = append(weekly, processing.Reading{Time: start.AddDate(0, 0, i).Add(9 * time.Hour), Value: v})
		}
		v += use
	}
	d, w := phys("d"), phys("w")
	d.Removed, w.Removed = start.AddDate(0, 0, 730), start.AddDate(0, 0, 730)
	from := date(2024, 6, 1)
	for _, method := range []string{"profile", "consensus"} {
		opt := processing.RunOptions{From: from, To: from.AddDate(0, 0, 30)}
		opt.Anomaly.Method = method
		res, err := processing.Process(testHouse(d, w), map[string][]processing.Reading{"d": daily, "w": weekly}, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Meters {
			if len(r.Days) != 0 || len(r.Anomalies) != 0 {
				t.Errorf("%s, %s: %d days and %d anomalies (first %v), want none: every reading is before From",
					method, r.Meter.ID, len(r.Days), len(r.Anomalies), r.Anomalies)
			}
		}
		// The same readings inside the window do show the spike.
		opt.From, opt.To = start, start.AddDate(0, 0, 729)
		res, err = processing.Process(testHouse(d, w), map[string][]processing.Reading{"d": daily, "w": weekly}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Meters[0].Anomalies) == 0 {
			t.Errorf("%s: no anomaly for the daily meter's spike inside the window", method)
		}
	}
}
