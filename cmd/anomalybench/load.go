package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
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
}

// indexEntry is one row of index.csv.
type indexEntry struct{ ID, Utility string }

func readIndex(dir string) ([]indexEntry, error) {
	path := filepath.Join(dir, "index.csv")
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	var out []indexEntry
	for i, r := range rows {
		if r["series_id"] == "" {
			return nil, fmt.Errorf("%s line %d: empty series_id", path, i+2)
		}
		u, _, _ := strings.Cut(r["utility"], " ") // "gas (heating)" → gas
		out = append(out, indexEntry{ID: r["series_id"], Utility: u})
	}
	return out, nil
}

// locationFor: the Cambridge series are British, the DAIAD water series Spanish.
func locationFor(id string) (*time.Location, error) {
	if strings.HasPrefix(id, "daiad_") {
		return time.LoadLocation("Europe/Madrid")
	}
	return time.LoadLocation("Europe/London")
}

// loadSeries reads a daily series and builds its readings: the register at
// every local midnight (cumulative_value is the register at the end of its
// date), or the real hourly register when hourly/<id>_readings.csv exists.
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
	s := &series{ID: e.ID, Utility: e.Utility, Loc: loc}
	var prev time.Time
	for i, r := range rows {
		d, err := time.ParseInLocation(time.DateOnly, r["date"], loc)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: date: %w", path, i+2, err)
		}
		c, err1 := strconv.ParseFloat(r["consumption"], 64)
		cv, err2 := strconv.ParseFloat(r["cumulative_value"], 64)
		if err := errors.Join(err1, err2); err != nil || math.IsNaN(c) || math.IsNaN(cv) {
			return nil, fmt.Errorf("%s line %d: consumption %q, cumulative_value %q: %w", path, i+2,
				r["consumption"], r["cumulative_value"], err)
		}
		if i == 0 {
			s.Start = d
			s.Readings = append(s.Readings, processing.Reading{Time: d, Value: cv - c})
		} else if !d.Equal(prev.AddDate(0, 0, 1)) {
			return nil, fmt.Errorf("%s line %d: date %s does not follow %s", path, i+2, r["date"], prev.Format(time.DateOnly))
		}
		prev = d
		s.Use = append(s.Use, c)
		s.Readings = append(s.Readings, processing.Reading{Time: d.AddDate(0, 0, 1), Value: cv})
	}
	if len(s.Use) < 2 {
		return nil, fmt.Errorf("%s: fewer than two days", path)
	}
	hourly := filepath.Join(dir, "hourly", e.ID+"_readings.csv")
	if _, err := os.Stat(hourly); err == nil {
		rs, err := readHourly(hourly, loc)
		if err != nil {
			return nil, err
		}
		s.Readings, s.Hourly = rs, true
	}
	return s, nil
}

func readHourly(path string, loc *time.Location) ([]processing.Reading, error) {
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	rs := make([]processing.Reading, 0, len(rows))
	for i, r := range rows {
		t, err := time.ParseInLocation(time.DateTime, r["timestamp_local"], loc)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: timestamp_local: %w", path, i+2, err)
		}
		v, err := strconv.ParseFloat(r["register_litre"], 64)
		if err != nil || math.IsNaN(v) {
			return nil, fmt.Errorf("%s line %d: register_litre %q", path, i+2, r["register_litre"])
		}
		if n := len(rs); n > 0 && !t.After(rs[n-1].Time) {
			continue // a repeated local time (DST fall-back) adds nothing
		}
		rs = append(rs, processing.Reading{Time: t, Value: v})
	}
	if len(rs) < 2 {
		return nil, fmt.Errorf("%s: fewer than two readings", path)
	}
	return rs, nil
}
