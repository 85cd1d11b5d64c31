package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// indexEntry is one row of the dense set's index.csv.
type indexEntry struct {
	ID, Utility string
}

// readCSV reads a CSV file with a header into maps keyed by column name.
func readCSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	var rows []map[string]string
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			if i < len(rec) {
				row[h] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// readIndex lists the series of the dense set.
func readIndex(dir string) ([]indexEntry, error) {
	rows, err := readCSV(filepath.Join(dir, "index.csv"))
	if err != nil {
		return nil, err
	}
	var out []indexEntry
	for i, r := range rows {
		id := r["series_id"]
		if id == "" {
			return nil, fmt.Errorf("%s line %d: empty series_id", filepath.Join(dir, "index.csv"), i+2)
		}
		u, _, _ := strings.Cut(r["utility"], " ") // "gas (heating)" → gas
		out = append(out, indexEntry{ID: id, Utility: u})
	}
	return out, nil
}

// locationFor returns the zone whose local days the series' dates are: the
// Cambridge series are British, the DAIAD water series Spanish.
func locationFor(id string) (*time.Location, error) {
	name := "Europe/London"
	if strings.HasPrefix(id, "daiad_") {
		name = "Europe/Madrid"
	}
	return time.LoadLocation(name)
}

// loadSeries reads one series. Cambridge series have no register within a
// day, so the register is assumed to rise uniformly through each local day;
// water series read the real, about hourly register (interpolated linearly
// between the bracketing readings).
func loadSeries(dir string, e indexEntry) (*series, error) {
	loc, err := locationFor(e.ID)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", e.ID, err)
	}
	path := filepath.Join(dir, e.ID+".csv")
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	s := &series{ID: e.ID, Utility: e.Utility, Loc: loc, Resolution: 1}
	cumEnd := make([]float64, 0, len(rows))
	for i, r := range rows {
		d, err := time.ParseInLocation(time.DateOnly, r["date"], loc)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: date: %w", path, i+2, err)
		}
		c, err := strconv.ParseFloat(r["consumption"], 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: consumption: %w", path, i+2, err)
		}
		cv, err := strconv.ParseFloat(r["cumulative_value"], 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: cumulative_value: %w", path, i+2, err)
		}
		if n := len(s.Days); n > 0 && !d.Equal(s.Days[n-1].Date.AddDate(0, 0, 1)) {
			return nil, fmt.Errorf("%s line %d: date %s does not follow %s", path, i+2,
				r["date"], s.Days[n-1].Date.Format(time.DateOnly))
		}
		s.Days = append(s.Days, truthDay{Date: d, Consumption: c, Valid: r["valid"] == "1"})
		cumEnd = append(cumEnd, cv)
	}
	if len(s.Days) < 2 {
		return nil, fmt.Errorf("%s: fewer than two days", path)
	}
	hourly := filepath.Join(dir, "hourly", e.ID+"_readings.csv")
	if _, err := os.Stat(hourly); err == nil {
		return s, attachHourly(s, hourly)
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
	return s, nil
}

// attachHourly makes the series read its register from the raw readings.
func attachHourly(s *series, path string) error {
	rows, err := readCSV(path)
	if err != nil {
		return err
	}
	ts := make([]time.Time, 0, len(rows))
	vs := make([]float64, 0, len(rows))
	for i, r := range rows {
		t, err := time.ParseInLocation(time.DateTime, r["timestamp_local"], s.Loc)
		if err != nil {
			return fmt.Errorf("%s line %d: timestamp_local: %w", path, i+2, err)
		}
		v, err := strconv.ParseFloat(r["register_litre"], 64)
		if err != nil || math.IsNaN(v) {
			return fmt.Errorf("%s line %d: register_litre %q", path, i+2, r["register_litre"])
		}
		if n := len(ts); n > 0 && !t.After(ts[n-1]) {
			continue // a repeated local time (DST fall-back) adds nothing
		}
		ts = append(ts, t)
		vs = append(vs, v)
	}
	if len(ts) < 2 {
		return fmt.Errorf("%s: fewer than two readings", path)
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
	return nil
}
