package main

import (
	"sort"
	"time"

	"github.com/meteragent/meteragent/cmd/internal/dense"
)

// newSeries makes a dense series readable at any instant. Cambridge series
// have no register within a day, so the register is assumed to rise
// uniformly through each local day; water series read the real, about
// hourly register (interpolated linearly between the bracketing readings).
func newSeries(d *dense.Series) *series {
	loc := d.Loc
	s := &series{ID: d.ID, Utility: d.Utility, Loc: loc, Resolution: 1}
	cumEnd := make([]float64, len(d.Days))
	for i, day := range d.Days {
		s.Days = append(s.Days, truthDay{Date: day.Date, Consumption: day.Consumption, Valid: day.Valid})
		cumEnd[i] = day.Cumulative
	}
	if d.Hourly != nil {
		attachHourly(s, d.Hourly)
		return s
	}
	days := s.Days
	s.First = days[0].Date
	s.Last = days[len(days)-1].Date.AddDate(0, 0, 1).Add(-time.Second)
	s.Register = func(t time.Time) float64 {
		mid := localMidnight(t, loc)
		i := sort.Search(len(days), func(i int) bool { return !days[i].Date.Before(mid) })
		if i >= len(days) {
			return cumEnd[len(cumEnd)-1]
		}
		end := mid.AddDate(0, 0, 1)
		frac := float64(t.Sub(mid)) / float64(end.Sub(mid))
		return cumEnd[i] - days[i].Consumption*(1-frac)
	}
	return s
}

// attachHourly makes the series read its register from the raw readings
// (strictly increasing in time, at least two).
func attachHourly(s *series, rs []dense.Reading) {
	ts := make([]time.Time, len(rs))
	vs := make([]float64, len(rs))
	for i, r := range rs {
		ts[i], vs[i] = r.Time, r.Value
	}
	s.First, s.Last = ts[0], ts[len(ts)-1]
	s.Register = func(t time.Time) float64 {
		j := sort.Search(len(ts), func(i int) bool { return !ts[i].Before(t) })
		switch {
		case j == 0:
			return vs[0]
		case j == len(ts):
			return vs[len(vs)-1]
		}
		w := float64(t.Sub(ts[j-1])) / float64(ts[j].Sub(ts[j-1]))
		return vs[j-1] + w*(vs[j]-vs[j-1])
	}
}
