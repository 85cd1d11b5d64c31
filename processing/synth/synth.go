// Package synth builds synthetic houses for benchmarks of processing and of
// the process command, so that both measure the same input.
package synth

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// House builds a house of n meters over years of readings, in units of 26
// like the seed installation: 20 physical meters (one read hourly, nine
// daily at a random time, ten sparsely every 3-30 days; two of them replace
// each other halfway), two masters (a sum and a replacement with offset) and
// four virtual meters (one of them virtual of virtual). Extra meters beyond
// the last whole unit are daily physical meters. The same n and years give
// the same house. loc is the house's zone.
func House(n, years int, loc *time.Location) (processing.House, map[string][]processing.Reading, processing.RunOptions) {
	r := rand.New(rand.NewPCG(uint64(n), uint64(years)))
	from := time.Date(2020, 1, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(years, 0, 0)
	mid := from.AddDate(years/2, 0, 0)
	h := processing.House{Location: loc}
	rs := map[string][]processing.Reading{}
	read := func(id string, a, b time.Time, step func() time.Duration, perDay float64) {
		v := r.Float64() * 1000
		var out []processing.Reading
		for t := a.Add(time.Duration(r.Int64N(int64(time.Hour)))); t.Before(b); {
			out = append(out, processing.Reading{Time: t, Value: v})
			d := step()
			v += perDay * d.Hours() / 24 * (0.5 + r.Float64())
			t = t.Add(d)
		}
		rs[id] = out
	}
	phys := func(id string) processing.Meter {
		return processing.Meter{ID: id, Kind: processing.Physical, Unit: processing.KWh}
	}
	virt := func(id, base string, subs ...string) processing.Meter {
		m := processing.Meter{ID: id, Kind: processing.Virtual, Unit: processing.KWh, Base: base}
		for _, s := range subs {
			m.Subtract = append(m.Subtract, processing.Subtrahend{ID: s})
		}
		return m
	}
	hourly := func() time.Duration { return time.Hour }
	dailyStep := func() time.Duration { return 24*time.Hour + time.Duration(r.Int64N(int64(2*time.Hour))) - time.Hour }
	sparse := func() time.Duration { return time.Duration(3+r.IntN(28)) * 24 * time.Hour }
	unit := 0
	for len(h.Meters)+26 <= n {
		id := func(s string, i int) string { return fmt.Sprintf("u%d_%s%d", unit, s, i) }
		for i := range 20 {
			m := phys(id("p", i))
			switch {
			case i == 0:
				read(m.ID, from, to, hourly, 8)
			case i < 10:
				read(m.ID, from, to, dailyStep, 3)
			case i == 18:
				m.Removed = mid.AddDate(0, 0, -1)
				read(m.ID, from, mid, sparse, 5)
			case i == 19:
				m.Installed = mid
				read(m.ID, mid, to, sparse, 5)
			default:
				read(m.ID, from, to, sparse, 2)
			}
			h.Meters = append(h.Meters, m)
		}
		sum := processing.Meter{ID: id("m", 0), Kind: processing.Master, Unit: processing.KWh,
			Periods: []processing.Period{{Start: from, Sum: true, Sources: []string{id("p", 1), id("p", 2), id("p", 3)}}}}
		repl := processing.Meter{ID: id("m", 1), Kind: processing.Master, Unit: processing.KWh, Periods: []processing.Period{
			{Start: from, End: mid.AddDate(0, 0, -1), Sources: []string{id("p", 18)}},
			{Start: mid, Sources: []string{id("p", 19)}, ApplyOffset: true},
		}}
		h.Meters = append(h.Meters, sum, repl,
			virt(id("v", 0), id("m", 0), id("p", 1)),
			virt(id("v", 1), id("v", 0), id("p", 2)),
			virt(id("v", 2), id("m", 1), id("p", 10)),
			virt(id("v", 3), id("p", 0), id("p", 4), id("p", 5)))
		unit++
	}
	for i := 0; len(h.Meters) < n; i++ {
		m := phys(fmt.Sprintf("x%d", i))
		read(m.ID, from, to, dailyStep, 3)
		h.Meters = append(h.Meters, m)
	}
	// The product's options (cmd/meteragent runOptions): learned profiles
	// and the default anomaly method.
	return h, rs, processing.RunOptions{From: from, To: to, MaxExtrapolationDays: 30, Profiles: &processing.ProfileOptions{}}
}
