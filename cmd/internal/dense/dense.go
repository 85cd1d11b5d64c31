// Package dense loads the project's reference dataset for the benchmark
// commands: the real dense daily series in ../shared/data/dense, described in
// ../shared/data/README.md. It reads files (it is not processing, and it
// knows nothing of how the commands use the series).
//
// A dense directory holds
//
//	index.csv                         series_id,utility,...
//	<series_id>.csv                   date,consumption,cumulative_value,n_obs,n_zero_obs,valid
//	hourly/<series_id>_readings.csv   timestamp_local,register_litre (water series only)
//
// Every error about a file's content names the file and, where there is
// one, the line. Each is the work loop both commands run their series on.
package dense

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultDir is the dense set relative to the repository root, from where
// the benchmark commands are run.
const DefaultDir = "../shared/data/dense"

// AddFlags defines the flags that choose the data on fs: -data (the dense
// directory, default DefaultDir) into dir and -series (a substring of the
// series ids to keep) into filter.
func AddFlags(fs *flag.FlagSet, dir, filter *string) {
	fs.StringVar(dir, "data", DefaultDir, "dense data directory (relative to the working directory)")
	fs.StringVar(filter, "series", "", "only series whose id contains this")
}

// Each calls f(0) … f(n-1) on jobs goroutines (at least one), in index order
// of starting, and returns when every started call has returned. Once ctx is
// done it starts at most one more call (one it was already handing out) and
// returns ctx's error.
func Each(ctx context.Context, n, jobs int, f func(i int)) error {
	ch := make(chan int)
	var wg sync.WaitGroup
	for range max(1, jobs) {
		wg.Go(func() {
			for i := range ch {
				f(i)
			}
		})
	}
feed:
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		select {
		case ch <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	return ctx.Err()
}

// Entry is one row of index.csv.
type Entry struct {
	ID string
	// Utility is the first word of the index's utility: electricity, gas
	// or water ("gas (heating)" is gas).
	Utility string
}

// Day is one row of a series' daily file.
type Day struct {
	Date        time.Time // local midnight of the day
	Consumption float64   // use during the day
	Cumulative  float64   // the register at the end of the day
	Valid       bool      // trustworthy as truth (valid=1)
}

// Reading is one raw register reading of an hourly file.
type Reading struct {
	Time  time.Time
	Value float64 // litres
}

// Series is one series of the set.
type Series struct {
	ID, Utility string
	Loc         *time.Location // the zone whose local days Days are
	Days        []Day          // consecutive days, at least two
	// Hourly is the raw, about hourly register in strictly increasing
	// time (a repeated local time is dropped), or nil when the series has
	// no hourly file.
	Hourly []Reading
}

// Location returns the zone whose local days the series' dates are: the
// DAIAD water series ("daiad_…") are Spanish, the Cambridge series British.
func Location(id string) (*time.Location, error) {
	if strings.HasPrefix(id, "daiad_") {
		return time.LoadLocation("Europe/Madrid")
	}
	return time.LoadLocation("Europe/London")
}

// LoadAll loads every series of the index in dir whose id contains filter
// (all when filter is empty), in index order. It fails when dir is not a
// directory or no series matches.
func LoadAll(dir, filter string) ([]*Series, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return nil, fmt.Errorf("dense data directory %s not found (run from the repository root, or pass -data): %w", dir, err)
	}
	index, err := ReadIndex(dir)
	if err != nil {
		return nil, err
	}
	var all []*Series
	for _, e := range index {
		if filter != "" && !strings.Contains(e.ID, filter) {
			continue
		}
		s, err := Load(dir, e)
		if err != nil {
			return nil, err
		}
		all = append(all, s)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no series in %s match %q", dir, filter)
	}
	return all, nil
}

// ReadIndex lists the series of dir/index.csv.
func ReadIndex(dir string) ([]Entry, error) {
	path := filepath.Join(dir, "index.csv")
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(rows))
	for _, r := range rows {
		id := r.get("series_id")
		if id == "" {
			return nil, r.errorf("empty series_id")
		}
		u, _, _ := strings.Cut(r.get("utility"), " ") // "gas (heating)" → gas
		out = append(out, Entry{ID: id, Utility: u})
	}
	return out, nil
}

// Load reads the series e of dir: its daily file and, when it exists, its
// hourly file.
func Load(dir string, e Entry) (*Series, error) {
	loc, err := Location(e.ID)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", e.ID, err)
	}
	s := &Series{ID: e.ID, Utility: e.Utility, Loc: loc}
	if s.Days, err = readDays(filepath.Join(dir, e.ID+".csv"), loc); err != nil {
		return nil, err
	}
	hourly := filepath.Join(dir, "hourly", e.ID+"_readings.csv")
	switch _, err := os.Stat(hourly); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if s.Hourly, err = readHourly(hourly, loc); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func readDays(path string, loc *time.Location) ([]Day, error) {
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	days := make([]Day, 0, len(rows))
	for _, r := range rows {
		d, err := time.ParseInLocation(time.DateOnly, r.get("date"), loc)
		if err != nil {
			return nil, r.errorf("date: %w", err)
		}
		c, err := r.float("consumption")
		if err != nil {
			return nil, err
		}
		cv, err := r.float("cumulative_value")
		if err != nil {
			return nil, err
		}
		if n := len(days); n > 0 && !d.Equal(days[n-1].Date.AddDate(0, 0, 1)) {
			return nil, r.errorf("date %s does not follow %s", r.get("date"), days[n-1].Date.Format(time.DateOnly))
		}
		days = append(days, Day{Date: d, Consumption: c, Cumulative: cv, Valid: r.get("valid") == "1"})
	}
	if len(days) < 2 {
		return nil, fmt.Errorf("%s: fewer than two days", path)
	}
	return days, nil
}

func readHourly(path string, loc *time.Location) ([]Reading, error) {
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	rs := make([]Reading, 0, len(rows))
	for _, r := range rows {
		t, err := time.ParseInLocation(time.DateTime, r.get("timestamp_local"), loc)
		if err != nil {
			return nil, r.errorf("timestamp_local: %w", err)
		}
		v, err := r.float("register_litre")
		if err != nil {
			return nil, err
		}
		if n := len(rs); n > 0 && !t.After(rs[n-1].Time) {
			continue // a repeated local time (DST fall-back) adds nothing
		}
		rs = append(rs, Reading{Time: t, Value: v})
	}
	if len(rs) < 2 {
		return nil, fmt.Errorf("%s: fewer than two readings", path)
	}
	return rs, nil
}

// row is one record of a CSV file with a header.
type row struct {
	path   string
	line   int
	fields map[string]string // by column name
}

// get is the field of the column (empty when the file has no such column).
func (r row) get(col string) string { return r.fields[col] }

func (r row) errorf(format string, a ...any) error {
	return fmt.Errorf("%s line %d: %w", r.path, r.line, fmt.Errorf(format, a...))
}

// float parses the column as a number; NaN is refused.
func (r row) float(col string) (float64, error) {
	v, err := strconv.ParseFloat(r.get(col), 64)
	if err == nil && math.IsNaN(v) {
		err = errors.New("not a number")
	}
	if err != nil {
		return 0, r.errorf("%s %q: %w", col, r.get(col), err)
	}
	return v, nil
}

// readCSV reads a CSV file with a header into rows keyed by column name.
func readCSV(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f) // every record must have the header's fields
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	var rows []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err) // a csv.ParseError names the line
		}
		line, _ := r.FieldPos(0)
		fields := make(map[string]string, len(header))
		for i, h := range header {
			fields[h] = rec[i]
		}
		rows = append(rows, row{path: path, line: line, fields: fields})
	}
}
