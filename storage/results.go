package storage

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/meteragent/meteragent/processing"
)

// StoredResult is the computed series of one meter, as last stored.
type StoredResult struct {
	Kind      string // meter kind, e.g. "physical"
	Unit      string
	Days      []processing.Day
	Months    []processing.Month
	Anomalies []processing.Anomaly
	Events    []processing.Event
	Computed  time.Time // when it was computed
}

// PutResult replaces the stored result of meter with r, in one committed
// transaction. NaN and infinite values (unknown consumption) survive the
// round trip. Days are stored as calendar dates. Other times come back with
// their instant and UTC offset, but a named zone (Europe/Berlin) comes back as
// a fixed offset.
func (db *DB) PutResult(meter string, r StoredResult) error {
	if err := checkKey("meter name", meter); err != nil {
		return fmt.Errorf("put result: %w", err)
	}
	v, err := json.Marshal(toResultRecord(r))
	if err != nil {
		return fmt.Errorf("put result of meter %q: %w", meter, err)
	}
	err = db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketResults).Put([]byte(meter), v)
	})
	if err != nil {
		return fmt.Errorf("put result of meter %q: %w", meter, err)
	}
	return nil
}

// Result returns the stored result of meter, and false if there is none.
func (db *DB) Result(meter string) (StoredResult, bool, error) {
	var (
		rec   resultRecord
		found bool
	)
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketResults).Get([]byte(meter))
		if v == nil {
			return nil
		}
		found = true
		// Unmarshal copies out of the mapped page.
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil
	})
	if err != nil {
		return StoredResult{}, false, fmt.Errorf("result of meter %q: %w", meter, err)
	}
	if !found {
		return StoredResult{}, false, nil
	}
	r, err := rec.result()
	if err != nil {
		return StoredResult{}, false, fmt.Errorf("result of meter %q: %w: %w", meter, ErrCorrupt, err)
	}
	return r, true, nil
}

// ResultMeters returns the meters that have a stored result, sorted.
func (db *DB) ResultMeters() ([]string, error) {
	var out []string
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketResults).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("result meters: %w", err)
	}
	return out, nil
}

// jfloat is a float64 whose JSON form is a number when finite and the string
// "NaN", "+Inf" or "-Inf" otherwise: JSON has no NaN, and unknown daily use
// is NaN.
type jfloat float64

func (f jfloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return []byte(`"NaN"`), nil
	case math.IsInf(x, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
}

func (f *jfloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = jfloat(math.NaN())
		return nil
	case `"+Inf"`:
		*f = jfloat(math.Inf(1))
		return nil
	case `"-Inf"`:
		*f = jfloat(math.Inf(-1))
		return nil
	}
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("number %s: %w", b, err)
	}
	*f = jfloat(x)
	return nil
}

// jdate is a processing.Date whose JSON form is "2006-01-02". It also reads
// what version 1 records hold, the day's local midnight as an RFC 3339 time,
// whose own UTC offset shows the local date.
type jdate processing.Date

func (d jdate) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, processing.Date(d).String()), nil
}

func (d *jdate) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("date %s: %w", b, err)
	}
	layout := time.DateOnly
	if len(s) > len(time.DateOnly) {
		layout = time.RFC3339Nano
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return fmt.Errorf("date %s: %w", b, err)
	}
	*d = jdate(processing.DateOf(t))
	return nil
}

// Result record versions: version 1 stored a day's date as its local
// midnight (an RFC 3339 time), version 2 as a calendar date. Both are read.
const (
	resultRecordV1 = 1
	resultRecordV  = 2 // written
)

// resultRecord is the JSON form of a StoredResult in bucket results.
type resultRecord struct {
	V         int             `json:"v"`
	Kind      string          `json:"kind"`
	Unit      string          `json:"unit"`
	Computed  time.Time       `json:"computed"`
	Days      []dayRecord     `json:"days"`
	Months    []monthRecord   `json:"months"`
	Anomalies []anomalyRecord `json:"anomalies"`
	Events    []eventRecord   `json:"events"`
}

type dayRecord struct {
	Date        jdate  `json:"date"`
	Reading     jfloat `json:"reading"`
	Consumption jfloat `json:"consumption"`
	Quality     string `json:"quality"`
}

type monthRecord struct {
	Start       time.Time `json:"start"`
	Reading     jfloat    `json:"reading"`
	Consumption jfloat    `json:"consumption"`
	Days        int       `json:"days"`
}

type anomalyRecord struct {
	Date        time.Time `json:"date"`
	Days        int       `json:"days"`
	Consumption jfloat    `json:"consumption"`
	Expected    jfloat    `json:"expected"`
	Score       jfloat    `json:"score"`
	Tests       []string  `json:"tests"`
	Kind        string    `json:"kind"`
}

type eventRecord struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
}

func toResultRecord(r StoredResult) resultRecord {
	rec := resultRecord{V: resultRecordV, Kind: r.Kind, Unit: r.Unit, Computed: r.Computed}
	for _, d := range r.Days {
		rec.Days = append(rec.Days, dayRecord{jdate(d.Date), jfloat(d.Reading), jfloat(d.Consumption), d.Quality.String()})
	}
	for _, m := range r.Months {
		rec.Months = append(rec.Months, monthRecord{m.Start, jfloat(m.Reading), jfloat(m.Consumption), m.Days})
	}
	for _, a := range r.Anomalies {
		rec.Anomalies = append(rec.Anomalies, anomalyRecord{a.Date, a.Days, jfloat(a.Consumption), jfloat(a.Expected), jfloat(a.Score), a.Tests, a.Kind})
	}
	for _, e := range r.Events {
		rec.Events = append(rec.Events, eventRecord{e.Time, string(e.Kind), e.Message})
	}
	return rec
}

func (rec resultRecord) result() (StoredResult, error) {
	if rec.V != resultRecordV1 && rec.V != resultRecordV {
		return StoredResult{}, fmt.Errorf("result record version %d, want %d or %d", rec.V, resultRecordV1, resultRecordV)
	}
	r := StoredResult{Kind: rec.Kind, Unit: rec.Unit, Computed: rec.Computed}
	for i, d := range rec.Days {
		q, ok := parseQuality(d.Quality)
		if !ok {
			return StoredResult{}, fmt.Errorf("day %d: unknown quality %q", i, d.Quality)
		}
		r.Days = append(r.Days, processing.Day{Date: processing.Date(d.Date), Reading: float64(d.Reading), Consumption: float64(d.Consumption), Quality: q})
	}
	for _, m := range rec.Months {
		r.Months = append(r.Months, processing.Month{Start: m.Start, Reading: float64(m.Reading), Consumption: float64(m.Consumption), Days: m.Days})
	}
	for _, a := range rec.Anomalies {
		r.Anomalies = append(r.Anomalies, processing.Anomaly{Date: a.Date, Days: a.Days, Consumption: float64(a.Consumption), Expected: float64(a.Expected), Score: float64(a.Score), Tests: a.Tests, Kind: a.Kind})
	}
	for _, e := range rec.Events {
		r.Events = append(r.Events, processing.Event{Time: e.Time, Kind: processing.EventKind(e.Kind), Message: e.Message})
	}
	return r, nil
}

// parseQuality inverts Quality.String, so that the file holds readable names
// and stays correct if processing adds qualities.
func parseQuality(s string) (processing.Quality, bool) {
	for q := range processing.Quality(math.MaxUint8) {
		if q.String() == s {
			return q, true
		}
	}
	return 0, false
}
