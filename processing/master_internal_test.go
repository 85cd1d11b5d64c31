package processing

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

var berlin = mustLoad("Europe/Berlin")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, berlin) }

// series builds a measured daily series from registers at consecutive local
// midnights: use of day i is regs[i+1]-regs[i], the last day's is unknown.
func series(start time.Time, regs ...float64) []Day {
	days := make([]Day, len(regs))
	for i, r := range regs {
		days[i] = Day{Date: DateOf(start) + Date(i), Reading: r, Consumption: math.NaN()}
		if i+1 < len(regs) {
			days[i].Consumption = regs[i+1] - r
			days[i].Quality = QualityMeasured
		}
	}
	return days
}

// ramp returns n registers from v0 rising by step per day.
func ramp(v0, step float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v0 + step*float64(i)
	}
	return out
}

func results(rs ...MeterResult) map[string]*MeterResult {
	m := map[string]*MeterResult{}
	for i := range rs {
		m[rs[i].Meter.ID] = &rs[i]
	}
	return m
}

func physical(id string, u Unit, days []Day) MeterResult {
	return MeterResult{Meter: Meter{ID: id, Kind: Physical, Unit: u}, Days: days}
}

func judgeAll(string, int) bool { return true }

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b))
}

func dayOf(t *testing.T, days []Day, d time.Time) Day {
	t.Helper()
	for _, x := range days {
		if x.Date == DateOf(d) {
			return x
		}
	}
	t.Fatalf("no day %s in series", d.Format(time.DateOnly))
	return Day{}
}

func kinds(evs []Event) map[EventKind]int {
	m := map[EventKind]int{}
	for _, e := range evs {
		m[e.Kind]++
	}
	return m
}

// The spec §3 observed replacement: old meter 1000 + 1/day from 2024-10-01,
// removed after 2024-11-12 (its series ends at the midnight of 11-13 with
// 1043); new meter 0 + 2/day from 2024-11-12. The old pipeline aligned
// old(11-12) with new(11-13) and lost a day (1138 on 12-31). With the offset
// taken at the shared instant 11-13 00:00, offset = 1043 − 2 = 1041.
func TestMasterReplacementOffset(t *testing.T) {
	old := physical("old", M3, series(date(2024, 10, 1), ramp(1000, 1, 44)...)) // 10-01 … 11-13
	neu := physical("new", M3, series(date(2024, 11, 12), ramp(0, 2, 50)...))   // 11-12 … 12-31
	m := Meter{ID: "gas_total", Kind: Master, Unit: M3, Periods: []Period{
		{Start: date(2024, 10, 1), End: date(2024, 11, 12), Sources: []string{"old"}},
		{Start: date(2024, 11, 13), Sources: []string{"new"}, ApplyOffset: true},
	}}
	days, mask, events, err := buildMaster(m, results(old, neu), judgeAll, berlin, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Errorf("events = %v, want none (a plausible replacement)", events)
	}
	if len(days) != 92 || len(mask) != 92 {
		t.Fatalf("len(days) = %d, len(mask) = %d, want 92 (10-01 … 12-31)", len(days), len(mask))
	}
	for _, c := range []struct {
		d        time.Time
		reg, use float64
	}{
		{date(2024, 10, 1), 1000, 1},
		{date(2024, 11, 12), 1042, 1},  // the old meter's last day is kept
		{date(2024, 11, 13), 1043, 2},  // 2 (new) + 1041
		{date(2024, 11, 14), 1045, 2},  //
		{date(2024, 11, 30), 1077, 2},  // 1043 + 2·17
		{date(2024, 12, 31), 1139, -1}, // 1043 + 2·48; last row: use unknown
	} {
		d := dayOf(t, days, c.d)
		want := c.use
		if want < 0 {
			want = math.NaN()
		}
		if !near(d.Reading, c.reg) || !near(d.Consumption, want) {
			t.Errorf("%s: reading %v use %v, want %v and %v", c.d.Format(time.DateOnly), d.Reading, d.Consumption, c.reg, want)
		}
	}
	// No day lost: the use over the series equals the register difference.
	var sum float64
	for _, d := range days[:len(days)-1] {
		sum += d.Consumption
	}
	if !near(sum, 139) {
		t.Errorf("total use = %v, want 139 (43 days × 1 + 48 days × 2)", sum)
	}
	// Monthly from the finished daily series agrees with it.
	months := Monthly(days, berlin)
	want := []Month{
		{Start: date(2024, 10, 1), Reading: 1000, Consumption: 31, Days: 31},
		{Start: date(2024, 11, 1), Reading: 1031, Consumption: 12 + 18*2, Days: 30},
		{Start: date(2024, 12, 1), Reading: 1079, Consumption: 30 * 2, Days: 30},
	}
	if len(months) != len(want) {
		t.Fatalf("months = %v, want %v", months, want)
	}
	for i := range want {
		g := months[i]
		if !g.Start.Equal(want[i].Start) || !near(g.Reading, want[i].Reading) || !near(g.Consumption, want[i].Consumption) || g.Days != want[i].Days {
			t.Errorf("month %d = %+v, want %+v", i, g, want[i])
		}
	}
}

// Without ApplyOffset the register jumps to the new meter's value, the
// boundary day's use is the new meter's own use (not the jump) and the drop is
// reported.
func TestMasterReplacementWithoutOffset(t *testing.T) {
	old := physical("old", KWh, series(date(2024, 10, 1), ramp(1000, 1, 44)...))
	neu := physical("new", KWh, series(date(2024, 11, 12), ramp(0, 2, 5)...))
	m := Meter{ID: "m", Kind: Master, Unit: KWh, Periods: []Period{
		{Start: date(2024, 10, 1), End: date(2024, 11, 12), Sources: []string{"old"}},
		{Start: date(2024, 11, 13), Sources: []string{"new"}},
	}}
	days, _, events, err := buildMaster(m, results(old, neu), judgeAll, berlin, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := dayOf(t, days, date(2024, 11, 12)); d.Reading != 1042 || d.Consumption != 1 {
		t.Errorf("11-12 = %+v, want reading 1042 use 1", d)
	}
	if d := dayOf(t, days, date(2024, 11, 13)); d.Reading != 2 || d.Consumption != 2 {
		t.Errorf("11-13 = %+v, want reading 2 use 2", d)
	}
	if k := kinds(events); k[EventOffset] != 1 || len(events) != 1 {
		t.Errorf("events = %v, want one offset event", events)
	}
}

// Spec §3 observed "sum" case: a = 10…14 from 01-01, b = 100…102 from 01-03.
// The old pipeline counted b as 0 on 01-01/01-02 and spiked by 101 on 01-03.
func TestMasterSumMissingSource(t *testing.T) {
	a := physical("a", KWh, series(date(2024, 1, 1), 10, 11, 12, 13, 14))
	b := physical("b", KWh, series(date(2024, 1, 3), 100, 101, 102))
	m := Meter{ID: "s", Kind: Master, Unit: KWh, Periods: []Period{
		{Start: date(2024, 1, 1), Sum: true, Sources: []string{"a", "b"}},
	}}
	days, _, events, err := buildMaster(m, results(a, b), judgeAll, berlin, 0)
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	wantReg := []float64{nan, nan, 112, 114, 116}
	wantUse := []float64{nan, nan, 2, 2, nan}
	if len(days) != len(wantReg) {
		t.Fatalf("got %d days, want %d", len(days), len(wantReg))
	}
	for i, d := range days {
		if !near(d.Reading, wantReg[i]) || !near(d.Consumption, wantUse[i]) {
			t.Errorf("day %d = %v/%v, want %v/%v", i, d.Reading, d.Consumption, wantReg[i], wantUse[i])
		}
		if math.IsNaN(d.Consumption) != (d.Quality == QualityUnknown) {
			t.Errorf("day %d: quality %v with use %v", i, d.Quality, d.Consumption)
		}
	}
	if len(events) != 1 || events[0].Kind != EventMissingSource || !strings.Contains(events[0].Message, " b ") ||
		!strings.Contains(events[0].Message, "2 days") {
		t.Errorf("events = %v, want one missing_source for b with 2 days", events)
	}
}

// A source's hole inside its own range is interpolated from its own
// neighbours, and the master's day says so.
func TestMasterSumInterpolatesHole(t *testing.T) {
	ad := series(date(2024, 1, 1), 10, 12, 14, 16, 18)
	ad[2].Reading = math.NaN()
	ad[1].Consumption, ad[2].Consumption = math.NaN(), math.NaN()
	a := physical("a", KWh, ad)
	b := physical("b", Wh, series(date(2024, 1, 1), 1000, 2000, 3000, 4000, 5000))
	m := Meter{ID: "s", Kind: Master, Unit: KWh, Periods: []Period{
		{Start: date(2024, 1, 1), Sum: true, Sources: []string{"a", "b"}},
	}}
	days, _, events, err := buildMaster(m, results(a, b), judgeAll, berlin, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Errorf("events = %v, want none", events)
	}
	wantReg := []float64{11, 14, 17, 20, 23}
	for i, d := range days {
		if !near(d.Reading, wantReg[i]) {
			t.Errorf("day %d reading = %v, want %v", i, d.Reading, wantReg[i])
		}
		if i < 4 && !near(d.Consumption, 3) {
			t.Errorf("day %d use = %v, want 3", i, d.Consumption)
		}
	}
	if days[1].Quality != QualityInterpolated || days[2].Quality != QualityInterpolated || days[0].Quality != QualityMeasured {
		t.Errorf("qualities = %v %v %v, want measured interpolated interpolated", days[0].Quality, days[1].Quality, days[2].Quality)
	}
}

// A source whose register restarts (BuildDaily reports the reset and keeps
// the use) does not give the master a negative day.
func TestMasterSourceResetKeepsUse(t *testing.T) {
	sd := series(date(2024, 1, 1), 100, 102.5, 10, 12.5)
	sd[1].Consumption = 10 // as BuildDaily counts a restart from 0 (CC-3)
	s := physical("p", KWh, sd)
	m := Meter{ID: "m", Kind: Master, Unit: KWh, Periods: []Period{{Start: date(2024, 1, 1), Sources: []string{"p"}}}}
	days, _, _, err := buildMaster(m, results(s), judgeAll, berlin, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if days[i].Consumption != sd[i].Consumption {
			t.Errorf("day %d use = %v, want the source's %v", i, days[i].Consumption, sd[i].Consumption)
		}
	}
}

func TestMasterUnitsAndGas(t *testing.T) {
	s := physical("g", M3, series(date(2024, 1, 1), 0, 1, 3))
	m := Meter{ID: "e", Kind: Master, Unit: KWh, Periods: []Period{{Start: date(2024, 1, 1), Sources: []string{"g"}}}}
	days, _, _, err := buildMaster(m, results(s), judgeAll, berlin, 10)
	if err != nil {
		t.Fatal(err)
	}
	if days[1].Reading != 10 || days[1].Consumption != 20 {
		t.Errorf("day 1 = %+v, want reading 10 kWh use 20 kWh", days[1])
	}
	m.Periods[0].SourceUnit = "bogus"
	if _, _, _, err := buildMaster(m, results(s), judgeAll, berlin, 10); !errors.Is(err, ErrUnsupportedConversion) {
		t.Errorf("bogus unit: err = %v, want ErrUnsupportedConversion", err)
	}
}

// A gap between the periods (or a previous meter whose series stops early)
// bridges the offset from the last known register and says so; a new meter
// that reads more than the master's total is implausible and reported.
func TestMasterOffsetEvents(t *testing.T) {
	old := physical("old", KWh, series(date(2024, 1, 1), ramp(100, 1, 5)...)) // 01-01 … 01-05
	neu := physical("new", KWh, series(date(2024, 1, 8), ramp(500, 1, 3)...)) // 01-08 … 01-10
	m := Meter{ID: "m", Kind: Master, Unit: KWh, Periods: []Period{
		{Start: date(2024, 1, 1), End: date(2024, 1, 4), Sources: []string{"old"}},
		{Start: date(2024, 1, 8), Sources: []string{"new"}, ApplyOffset: true},
	}}
	days, _, events, err := buildMaster(m, results(old, neu), judgeAll, berlin, 0)
	if err != nil {
		t.Fatal(err)
	}
	// old(01-05) = 104 continues as new(01-08) = 500: offset −396.
	if d := dayOf(t, days, date(2024, 1, 8)); d.Reading != 104 {
		t.Errorf("01-08 reading = %v, want 104", d.Reading)
	}
	for _, d := range []time.Time{date(2024, 1, 6), date(2024, 1, 7)} {
		if x := dayOf(t, days, d); !math.IsNaN(x.Reading) || !math.IsNaN(x.Consumption) {
			t.Errorf("%s between periods = %+v, want unknown", d.Format(time.DateOnly), x)
		}
	}
	if k := kinds(events); k[EventOffset] != 2 {
		t.Errorf("events = %v, want two offset events (bridged gap, negative offset)", events)
	}
}

func TestMasterInvalid(t *testing.T) {
	src := results(physical("a", KWh, series(date(2024, 1, 1), 1, 2)), physical("b", KWh, nil))
	for _, c := range []struct {
		name    string
		periods []Period
		want    error
	}{
		{"overlap", []Period{{Start: date(2024, 1, 1), End: date(2024, 2, 1), Sources: []string{"a"}}, {Start: date(2024, 2, 1), Sources: []string{"b"}}}, ErrInvalidMeter},
		{"reversed", []Period{{Start: date(2024, 2, 1), End: date(2024, 1, 1), Sources: []string{"a"}}}, ErrInvalidMeter},
		{"single with two", []Period{{Start: date(2024, 1, 1), Sources: []string{"a", "b"}}}, ErrInvalidMeter},
		{"no sources", []Period{{Start: date(2024, 1, 1)}}, ErrInvalidMeter},
		{"unknown source", []Period{{Start: date(2024, 1, 1), Sources: []string{"zz"}}}, ErrUnknownMeter},
	} {
		_, _, _, err := buildMaster(Meter{ID: "m", Kind: Master, Periods: c.periods}, src, judgeAll, berlin, 0)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), `"m"`) {
			t.Errorf("%s: err = %v, want %v naming the meter", c.name, err, c.want)
		}
	}
	// Sources without any data: no series, one event.
	days, _, events, err := buildMaster(Meter{ID: "m", Kind: Master, Periods: []Period{{Start: date(2024, 1, 1), Sources: []string{"b"}}}}, src, judgeAll, berlin, 0)
	if err != nil || len(days) != 0 || len(events) != 1 || events[0].Kind != EventMissingSource {
		t.Errorf("no data: days %v events %v err %v, want none, one missing_source, nil", days, events, err)
	}
}
