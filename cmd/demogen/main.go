// Command demogen writes the demo house's readings (testdata/demo/readings.csv):
// six years of made-up but plausible meter readings for the 22 physical meters of
// the seed configuration, as a person (and, for the main electricity meter, a
// Tibber Pulse) would have collected them.
//
// The output is deterministic: the same seed gives the same file, so the file
// can be committed and the golden test that reads it stays stable.
//
//	go run ./cmd/demogen                 # rewrites testdata/demo/readings.csv
//	go run ./cmd/demogen -out - | head   # print instead
package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"time"
)

func main() {
	out := flag.String("out", "testdata/demo/readings.csv", "output file, - for stdout")
	seed := flag.Uint64("seed", 20261127, "random seed")
	flag.Parse()
	if err := run(*out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "demogen:", err)
		os.Exit(1)
	}
}

func run(out string, seed uint64) error {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return fmt.Errorf("load zone: %w", err)
	}
	rs := generate(loc, seed)
	if out == "-" {
		return write(os.Stdout, rs)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := write(f, rs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// reading is one emitted line. The value is kept as an integer count of the
// meter's dial resolution so that the file holds exact decimals.
type reading struct {
	meter string
	t     time.Time
	units int64
	dec   int // decimals of the dial: units / 10^dec is the value
}

func write(w io.Writer, rs []reading) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("meter_id,timestamp,value\n")
	var buf []byte
	for _, r := range rs {
		buf = buf[:0]
		buf = append(buf, r.meter...)
		buf = append(buf, ',')
		buf = r.t.AppendFormat(buf, time.RFC3339)
		buf = append(buf, ',')
		buf = appendFixed(buf, r.units, r.dec)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	return bw.Flush()
}

// appendFixed appends units/10^dec with exactly dec decimals.
func appendFixed(b []byte, units int64, dec int) []byte {
	if units < 0 {
		b = append(b, '-')
		units = -units
	}
	p := int64(1)
	for range dec {
		p *= 10
	}
	b = strconv.AppendInt(b, units/p, 10)
	if dec > 0 {
		b = append(b, '.')
		frac := strconv.FormatInt(units%p, 10)
		for range dec - len(frac) {
			b = append(b, '0')
		}
		b = append(b, frac...)
	}
	return b
}

// The simulated period: the first day of the seed config's processing range
// up to the day the demo was made ("today" in the golden test).
var (
	simStart = date(2020, 1, 1)
	simEnd   = date(2026, 11, 27) // last day that may hold a reading
)

type civil struct {
	y int
	m time.Month
	d int
}

func date(y int, m time.Month, d int) civil { return civil{y, m, d} }

func (c civil) in(loc *time.Location) time.Time { return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, loc) }

// meterSpec describes how one physical meter is read.
type meterSpec struct {
	id          string
	dec         int     // decimals of the dial (0.1 kWh, 0.001 m³, 0.001 MWh)
	start       float64 // register at installation
	installed   civil
	removed     civil         // zero = still installed
	swapAt      time.Duration // time of day of the last reading, when removed
	firstRead   civil         // first reading day (zero = on installation day)
	group       string        // meters read on the same round
	use         func(day int) float64
	profile     *[24]float64 // share of a day's use per local hour
	resetOn     civil        // register restarts at 0 on this day (zero = never)
	typoOnRound int          // 1-based round whose reading gets a transposed digit (0 = none)
}

// Hourly shapes of a day's use (local clock hours, each sums to 1 after norm).
var (
	profElectric = norm([24]float64{2, 1.6, 1.5, 1.5, 1.5, 1.8, 3, 4.5, 5, 4, 3.8, 4, 4.5, 4, 3.6, 3.6, 4, 5, 6.5, 7, 6.5, 5.5, 4, 3})
	profHeating  = norm([24]float64{2, 2, 2, 2, 2.5, 4, 6, 6, 5, 4.5, 4, 4, 4, 4, 4, 4, 4.5, 5, 5.5, 5.5, 5, 4.5, 3, 2.5})
	profWater    = norm([24]float64{0.3, 0.2, 0.2, 0.2, 0.3, 1, 5, 8, 7, 5, 4, 4, 5, 4, 3, 3, 3.5, 4.5, 6, 7, 6, 5, 3, 1})
	profSolar    = norm([24]float64{0, 0, 0, 0, 0, 0.2, 1, 3, 6, 9, 11, 12, 12.5, 12, 11, 9, 6, 3.5, 1.5, 0.5, 0, 0, 0, 0})
)

func norm(w [24]float64) *[24]float64 {
	var s float64
	for _, v := range w {
		s += v
	}
	for i := range w {
		w[i] /= s
	}
	return &w
}

// fractionOfDay is the share of a day's use that happened before t (local).
func fractionOfDay(p *[24]float64, t time.Time) float64 {
	h, m, s := t.Clock()
	var f float64
	for i := range h {
		f += p[i]
	}
	return f + p[h]*(float64(m)*60+float64(s))/3600
}

// world holds the simulated daily use of everything in the house, indexed by
// days since simStart.
type world struct {
	loc  *time.Location
	days int

	floors     [3][]float64 // eg, og1, og2 electricity, kWh
	general    []float64    // rest of the house's electricity, kWh
	heizen, ww []float64    // boiler counters, kWh
	gasM3      []float64    // all gas, m³
	heat       [5][]float64 // heat meters, MWh
	water      [5][]float64 // haupt, og1 kalt, og1 warm, og2 kalt, og2 warm, m³
	solar      []float64    // kWh
}

const gasKWhPerM3 = 11.504 * 0.8885 // the seed config's energy_content × z_factor

func simulate(loc *time.Location, seed uint64) *world {
	r := rand.New(rand.NewPCG(seed, 1))
	start := simStart.in(loc)
	n := int(simEnd.in(loc).Sub(start).Hours()/24+0.5) + 1
	w := &world{loc: loc, days: n}
	alloc := func() []float64 { return make([]float64, n) }
	for i := range w.floors {
		w.floors[i] = alloc()
	}
	for i := range w.heat {
		w.heat[i] = alloc()
	}
	for i := range w.water {
		w.water[i] = alloc()
	}
	w.general, w.heizen, w.ww, w.gasM3, w.solar = alloc(), alloc(), alloc(), alloc(), alloc()

	heatShare := [5]float64{0.25, 0.2, 0.18, 0.25, 0.12} // eg_nord, og1, og2, eg_sud, buro
	floorBase := [3]float64{7, 6, 5.5}
	floorSwing := [3]float64{4, 3, 3}
	waterBase := [5]float64{0.36, 0.07, 0.045, 0.06, 0.04}
	weather := 0.0 // AR(1) deviation from the seasonal temperature, K
	for d := range n {
		day := start.AddDate(0, 0, d)
		doy := float64(day.YearDay())
		winter := 0.5 + 0.5*math.Cos(2*math.Pi*(doy-15)/365.25) // 1 mid-January, 0 mid-July
		sun := 0.5 - 0.5*math.Cos(2*math.Pi*(doy+10)/365.25)    // 0 at the winter solstice
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		away := r.Float64() < 0.03 // the whole house is out for the day

		for i := range w.floors {
			v := (floorBase[i] + floorSwing[i]*winter) * (0.8 + 0.4*r.Float64())
			if weekend {
				v *= 1.2
			}
			if away {
				v *= 0.4
			}
			w.floors[i][d] = v
		}
		w.general[d] = (7 + 4*winter) * (0.85 + 0.3*r.Float64())

		weather = 0.8*weather + 2.2*r.NormFloat64()
		temp := 9.5 - 10.5*math.Cos(2*math.Pi*(doy-20)/365.25) + weather
		heat := math.Max(0, 16-temp) * 9 * (0.9 + 0.2*r.Float64()) // kWh of heat delivered
		w.heizen[d] = heat / 0.92
		w.ww[d] = (8.5 + 3*winter) * (0.7 + 0.6*r.Float64())
		if away {
			w.ww[d] *= 0.2
		}
		fire := 0.0 // the EG Kalfire fireplace burns on some winter evenings
		if r.Float64() < 0.05+0.5*winter {
			fire = 15 + 30*r.Float64()
		}
		// The boiler's own counters read about 7 % low, so with the fireplace
		// they show about 85 % of the gas meter's energy.
		w.gasM3[d] = ((w.heizen[d]+w.ww[d])/0.93 + fire) / gasKWhPerM3

		for i := range w.heat {
			w.heat[i][d] = heat * 0.95 * heatShare[i] * (0.85 + 0.3*r.Float64()) / 1000
		}
		for i := range w.water {
			v := waterBase[i] * (0.7 + 0.6*r.Float64())
			if weekend {
				v *= 1.15
			}
			if away {
				v *= 0.1
			}
			w.water[i][d] = v
		}
		w.solar[d] = (2 + 16*sun) * (0.25 + 0.85*r.Float64())
	}
	return w
}

func generate(loc *time.Location, seed uint64) []reading {
	w := simulate(loc, seed)
	share := func(src []float64, f float64) func(int) float64 {
		return func(d int) float64 { return src[d] * f }
	}
	mains := func(f float64) func(int) float64 {
		return func(d int) float64 {
			return (w.floors[0][d] + w.floors[1][d] + w.floors[2][d] + w.general[d]) * f
		}
	}
	specs := []meterSpec{
		{id: "strom_1LOG0007013695_NT", dec: 1, start: 18234.5, installed: date(2020, 1, 1), removed: date(2024, 11, 26), swapAt: 18*time.Hour + 40*time.Minute, group: "strom", use: mains(0.38), profile: profElectric},
		{id: "strom_1LOG0007013695_HT", dec: 1, start: 31876.2, installed: date(2020, 1, 1), removed: date(2024, 11, 26), swapAt: 18*time.Hour + 40*time.Minute, group: "strom", use: mains(0.62), profile: profElectric},
		{id: "eg_strom", dec: 1, start: 12.3, installed: date(2022, 1, 1), group: "strom", use: share(w.floors[0], 1), profile: profElectric},
		{id: "og1_strom", dec: 1, start: 4.1, installed: date(2022, 1, 1), group: "strom", use: share(w.floors[1], 1), profile: profElectric, typoOnRound: 40},
		{id: "og2_strom", dec: 1, start: 0.8, installed: date(2022, 1, 1), group: "strom", use: share(w.floors[2], 1), profile: profElectric},

		{id: "gas_zahler_alt", dec: 3, start: 8123.456, installed: date(2020, 6, 1), removed: date(2024, 11, 12), swapAt: 9*time.Hour + 27*time.Minute, firstRead: date(2020, 6, 19), group: "gas", use: share(w.gasM3, 1), profile: profHeating},
		{id: "gas_zahler", dec: 3, start: 0, installed: date(2024, 11, 12), group: "gas", use: share(w.gasM3, 1), profile: profHeating},
		{id: "gastherme_heizen", dec: 1, start: 0, installed: date(2022, 1, 1), group: "gas", use: share(w.heizen, 1), profile: profHeating},
		{id: "gastherme_warmwasser", dec: 1, start: 0, installed: date(2022, 1, 1), group: "gas", use: share(w.ww, 1), profile: profWater},
		// gastherme_gesamt is the boiler's sum of the two above (see below).

		{id: "haupt_wasser", dec: 3, start: 1523.118, installed: date(2022, 1, 1), group: "water", use: share(w.water[0], 1), profile: profWater},
		{id: "og1_wasser_kalt", dec: 3, start: 0.004, installed: date(2022, 5, 1), firstRead: date(2022, 5, 24), group: "water", use: share(w.water[1], 1), profile: profWater},
		{id: "og1_wasser_warm", dec: 3, start: 0.002, installed: date(2022, 4, 1), firstRead: date(2022, 5, 24), group: "water", use: share(w.water[2], 1), profile: profWater},
		{id: "og2_wasser_kalt", dec: 3, start: 0.011, installed: date(2022, 9, 1), group: "water", use: share(w.water[3], 1), profile: profWater},
		{id: "og2_wasser_warm", dec: 3, start: 0.007, installed: date(2022, 9, 1), group: "water", use: share(w.water[4], 1), profile: profWater},

		{id: "eg_nord_heat", dec: 3, start: 0, installed: date(2022, 1, 1), firstRead: date(2022, 1, 21), group: "heat", use: share(w.heat[0], 1), profile: profHeating},
		{id: "og1_heat", dec: 3, start: 0, installed: date(2022, 1, 5), firstRead: date(2022, 1, 21), group: "heat", use: share(w.heat[1], 1), profile: profHeating},
		{id: "og2_heat", dec: 3, start: 0, installed: date(2022, 1, 9), firstRead: date(2022, 1, 21), group: "heat", use: share(w.heat[2], 1), profile: profHeating},
		{id: "eg_sud_heat", dec: 3, start: 0, installed: date(2022, 1, 1), firstRead: date(2022, 1, 21), group: "heat", use: share(w.heat[3], 1), profile: profHeating},
		{id: "buro_heat", dec: 3, start: 0, installed: date(2022, 1, 5), firstRead: date(2022, 1, 21), group: "heat", use: share(w.heat[4], 1), profile: profHeating},

		{id: "solarspeicher", dec: 1, start: 0, installed: date(2022, 1, 1), firstRead: date(2022, 2, 14), group: "solar", use: share(w.solar, 1), profile: profSolar, resetOn: date(2025, 3, 17)},
	}

	rounds := map[string][]time.Time{}
	for i, g := range []string{"strom", "gas", "water", "heat", "solar"} {
		rounds[g] = schedule(loc, rand.New(rand.NewPCG(seed, uint64(100+i))), g)
	}

	var out []reading
	var heizen, ww []reading
	for _, s := range specs {
		rs := readMeter(w, s, rounds[s.group])
		switch s.id {
		case "gastherme_heizen":
			heizen = rs
		case "gastherme_warmwasser":
			ww = rs
		}
		out = append(out, rs...)
	}
	// The boiler shows its total as the sum of its two counters, read at the
	// same moment, so gesamt = heizen + warmwasser holds exactly.
	for i := range heizen {
		out = append(out, reading{meter: "gastherme_gesamt", t: heizen[i].t.Add(45 * time.Second), units: heizen[i].units + ww[i].units, dec: 1})
	}
	out = append(out, tibber(w, rand.New(rand.NewPCG(seed, 200)))...)

	slices.SortStableFunc(out, func(a, b reading) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.meter, b.meter)
	})
	return out
}

// schedule returns the instants at which a person reads a group of meters:
// every 3–45 days, mostly weekly to monthly, between 07:00 and 21:00 local.
func schedule(loc *time.Location, r *rand.Rand, group string) []time.Time {
	var ts []time.Time
	day := simStart.in(loc)
	end := simEnd.in(loc)
	for !day.After(end) {
		t := day.Add(7*time.Hour + time.Duration(r.IntN(14*3600))*time.Second)
		ts = append(ts, t)
		var gap int
		switch p := r.Float64(); {
		case p < 0.08:
			gap = 3 + r.IntN(4)
		case p < 0.93:
			gap = 7 + r.IntN(25)
		default:
			gap = 32 + r.IntN(14)
		}
		// Nobody reads the heat meters in high summer.
		if group == "heat" && day.Month() == time.June {
			gap = 60 + r.IntN(20)
		}
		day = day.AddDate(0, 0, gap)
	}
	return ts
}

// readMeter returns the readings a person took of one meter on the rounds of
// its group, plus the fixed readings at installation and removal.
func readMeter(w *world, s meterSpec, rounds []time.Time) []reading {
	loc := w.loc
	inst := s.installed.in(loc)
	first := inst
	if s.firstRead != (civil{}) {
		first = s.firstRead.in(loc)
	}
	end := simEnd.in(loc).AddDate(0, 0, 1)
	var removedAt time.Time
	if s.removed != (civil{}) {
		// The last reading is taken when the meter is swapped out.
		removedAt = s.removed.in(loc).Add(s.swapAt)
		end = removedAt
	}
	// The register holds s.start from the moment the meter is fitted; the
	// installer reads a new meter right then.
	origin := inst
	var times []time.Time
	if s.firstRead == (civil{}) && s.installed != simStart {
		origin = inst.Add(10*time.Hour + 12*time.Minute)
		times = append(times, origin)
	}
	for _, t := range rounds {
		if !t.Before(first) && t.Before(end) && (len(times) == 0 || t.After(times[len(times)-1])) {
			times = append(times, t)
		}
	}
	if !removedAt.IsZero() {
		times = append(times, removedAt)
	}

	scale := math.Pow10(s.dec)
	var resetAt time.Time
	if s.resetOn != (civil{}) {
		resetAt = s.resetOn.in(loc).Add(11 * time.Hour)
	}
	rs := make([]reading, 0, len(times))
	for i, t := range times {
		v := s.start + cumulative(w, s, origin, t)
		if !resetAt.IsZero() && !t.Before(resetAt) {
			v -= s.start + cumulative(w, s, origin, resetAt)
		}
		units := int64(math.Floor(v*scale + 1e-9))
		if s.typoOnRound == i+1 {
			units = transpose(units)
		}
		rs = append(rs, reading{meter: s.id, t: t, units: units, dec: s.dec})
	}
	return rs
}

// cumulative is the meter's use between from and to.
func cumulative(w *world, s meterSpec, from, to time.Time) float64 {
	start := simStart.in(w.loc)
	d0, d1 := dayIndex(start, from), dayIndex(start, to)
	f0, f1 := fractionOfDay(s.profile, from), fractionOfDay(s.profile, to)
	if d0 == d1 {
		return s.use(d0) * (f1 - f0)
	}
	v := s.use(d0)*(1-f0) + s.use(d1)*f1
	for d := d0 + 1; d < d1; d++ {
		v += s.use(d)
	}
	return v
}

func dayIndex(start, t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Sub(time.Date(start.Year(), start.Month(), start.Day(), 12, 0, 0, 0, time.UTC)).Hours() / 24)
}

// transpose swaps the two leading digits, the classic misread of a dial,
// choosing the next pair when that would not make the value larger.
func transpose(units int64) int64 {
	b := []byte(strconv.FormatInt(units, 10))
	for i := 0; i+1 < len(b); i++ {
		if b[i] < b[i+1] {
			b[i], b[i+1] = b[i+1], b[i]
			v, _ := strconv.ParseInt(string(b), 10, 64)
			return v
		}
	}
	return units + 9*int64(math.Pow10(len(b)-1))
}

// tibber returns the main meter's hourly cumulative readings from its
// installation on 2024-11-27 to 2026-11-27, as a Tibber Pulse reports them
// (kWh with three decimals), with one outage of the Pulse in between.
func tibber(w *world, r *rand.Rand) []reading {
	loc := w.loc
	start := simStart.in(loc)
	from := date(2024, 11, 27).in(loc)
	to := simEnd.in(loc)
	outFrom := time.Date(2025, 8, 14, 13, 0, 0, 0, loc)
	outTo := time.Date(2025, 8, 16, 2, 0, 0, 0, loc)
	var out []reading
	var cum float64
	for t := from; !t.After(to); t = t.Add(time.Hour) {
		if !(t.After(outFrom) && t.Before(outTo)) {
			out = append(out, reading{meter: "haupt_strom", t: t, units: int64(math.Floor(cum*1000 + 1e-9)), dec: 3})
		}
		d := dayIndex(start, t)
		h := t.Hour()
		day := w.floors[0][d] + w.floors[1][d] + w.floors[2][d] + w.general[d]
		cum += day * profElectric[h] * (0.6 + 0.8*r.Float64())
	}
	return out
}
