package main

import (
	"time"

	"github.com/meteragent/meteragent/cmd/internal/dense"
	"github.com/meteragent/meteragent/processing"
)

// series is one real meter: its truth days and the readings a meter read
// daily (or hourly) would give.
type series struct {
	ID, Utility string
	Loc         *time.Location
	Start       time.Time // local midnight of the first day
	Use         []float64 // true use per day
	Hourly      bool      // Readings are the real sub-daily register
	Readings    []processing.Reading
}

// newSeries builds the readings of a dense series: the register at every
// local midnight (cumulative_value is the register at the end of its date),
// or the real hourly register when the series has one.
func newSeries(d *dense.Series) *series {
	s := &series{ID: d.ID, Utility: d.Utility, Loc: d.Loc, Start: d.Days[0].Date}
	first := d.Days[0]
	s.Readings = append(s.Readings, processing.Reading{Time: first.Date, Value: first.Cumulative - first.Consumption})
	for _, day := range d.Days {
		s.Use = append(s.Use, day.Consumption)
		s.Readings = append(s.Readings, processing.Reading{Time: day.Date.AddDate(0, 0, 1), Value: day.Cumulative})
	}
	if d.Hourly != nil {
		s.Readings = make([]processing.Reading, len(d.Hourly))
		for i, r := range d.Hourly {
			s.Readings[i] = processing.Reading{Time: r.Time, Value: r.Value}
		}
		s.Hourly = true
	}
	return s
}
