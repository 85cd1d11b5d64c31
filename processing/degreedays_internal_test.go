package processing

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// hddHouse is an hourly outdoor temperature series over two years in a zone
// with clock changes (shuffled, with a NaN and a repeated hour) and the
// weekly readings of a meter that heats with it.
func hddHouse(t *testing.T) (*time.Location, []Reading, []Reading) {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no zone data: %v", err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	start := time.Date(2021, 3, 1, 0, 0, 0, 0, loc)
	// Daily weather on an annual cycle: the degree days explain the use
	// better than any season.
	const days = 2 * 365
	temp := make([]float64, days)
	w := 0.0
	for i := range temp {
		w = 0.7*w + 2.5*rng.NormFloat64()
		doy := float64(start.AddDate(0, 0, i).YearDay())
		temp[i] = 10 - 8*math.Cos(2*math.Pi*(doy-20)/365) + w
	}
	temps := make([]Reading, 0, days*24+1)
	for i := range days {
		day := start.AddDate(0, 0, i)
		for h := range 24 {
			temps = append(temps, Reading{Time: day.Add(time.Duration(h) * time.Hour), Value: temp[i]})
		}
	}
	temps[100].Value = math.NaN()
	temps = append(temps, temps[500])
	rng.Shuffle(len(temps), func(i, j int) { temps[i], temps[j] = temps[j], temps[i] })

	// The meter's register, read weekly: 5 a day plus 2 per degree day.
	var rs []Reading
	c := 1000.0
	for i := 3; i < days-3; i++ {
		if i%7 == 3 {
			rs = append(rs, Reading{Time: start.AddDate(0, 0, i).Add(9 * time.Hour), Value: math.Round(c)})
		}
		c += 5 + 2*math.Max(0, defaultBaseTemp-temp[i])
	}
	return loc, temps, rs
}

// The degree days computed once for a run are those each meter's learner
// would compute from the series itself, on every day, inside its span and
// around it.
func TestDegreeDaysMatchPerMeter(t *testing.T) {
	loc, temps, _ := hddHouse(t)
	dd := newDegreeDays(temps, loc, 15.5)
	if !dd.serves(temps, loc, 15.5) {
		t.Fatal("prepared degree days do not serve their own series")
	}
	first, last := dayIn(time.Date(2021, 3, 1, 0, 0, 0, 0, loc), loc), dayIn(time.Date(2023, 3, 1, 0, 0, 0, 0, loc), loc)
	for _, span := range []struct{ d0, n int }{
		{first - 40, 30}, {first - 5, 20}, {first + 100, 300}, {last - 10, 20}, {last + 3, 10}, {first - 10, last - first + 20},
	} {
		got := dd.days(span.d0, span.n)
		want := dailyHDD(temps, loc, span.d0, span.n, 15.5)
		known := 0
		for i := range want {
			if !sameFloat(got[i], want[i]) {
				t.Fatalf("day %d: shared %v, per meter %v", span.d0+i, got[i], want[i])
			}
			if !math.IsNaN(want[i]) {
				known++
			}
		}
		if span.n == last-first+20 && known < 700 {
			t.Fatalf("%d known days over the whole span: the series is not used", known)
		}
	}
	other := append([]Reading(nil), temps...)
	for _, c := range []struct {
		name  string
		temps []Reading
		loc   *time.Location
		base  float64
	}{{"copy of the series", other, loc, 15.5}, {"other zone", temps, time.UTC, 15.5}, {"other base", temps, loc, 18}} {
		if dd.serves(c.temps, c.loc, c.base) {
			t.Errorf("%s: prepared degree days claim to serve it", c.name)
		}
	}
}

// A meter learns the same profile with the degree days computed once for the
// run as with its own.
func TestLearnProfileSharedDegreeDays(t *testing.T) {
	loc, temps, rs := hddHouse(t)
	opt := ProfileOptions{Location: loc, Temperatures: temps}
	own := LearnProfile(rs, opt)
	if !strings.Contains(own.Method, "hdd") {
		t.Fatalf("method %q does not use degree days: the test proves nothing", own.Method)
	}
	shared := opt.withDegreeDays(loc)
	if shared.degreeDays == nil || len(shared.degreeDays.hdd) == 0 {
		t.Fatal("no degree days prepared")
	}
	got := LearnProfile(rs, shared)
	if got.Method != own.Method || got.CVError != own.CVError || got.CVLinear != own.CVLinear || got.Weekday != own.Weekday {
		t.Fatalf("shared: %s cv %v/%v, own: %s cv %v/%v", got.Method, got.CVError, got.CVLinear, own.Method, own.CVError, own.CVLinear)
	}
	for d := -30; d < 800; d++ {
		day := time.Date(2021, 3, 1, 12, 0, 0, 0, loc).AddDate(0, 0, d)
		if a, b := got.Intensity(day), own.Intensity(day); a != b {
			t.Fatalf("%s: intensity %v shared, %v own", day.Format(time.DateOnly), a, b)
		}
		if a, b := got.Shape(day), own.Shape(day); a != b {
			t.Fatalf("%s: shape %v shared, %v own", day.Format(time.DateOnly), a, b)
		}
	}
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
