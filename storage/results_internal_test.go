package storage

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/meteragent/meteragent/processing"
)

// Version 1 records hold a day's date as its local midnight with the zone's
// UTC offset; they read as the calendar date that midnight shows, whatever
// the offset. Version 2 records hold the date itself.
func TestResultRecordDates(t *testing.T) {
	v1 := `{"v":1,"kind":"physical","unit":"m3","computed":"2026-11-27T12:00:00Z","days":[` +
		`{"date":"2026-03-29T00:00:00+01:00","reading":1,"consumption":2,"quality":"measured"},` +
		`{"date":"2026-03-30T00:00:00+02:00","reading":3,"consumption":"NaN","quality":"unknown"},` +
		`{"date":"2026-01-01T00:00:00-05:00","reading":0,"consumption":0,"quality":"extrapolated"},` +
		`{"date":"2026-01-01T00:00:00Z","reading":0,"consumption":0,"quality":"measured"}]}`
	want := []string{"2026-03-29", "2026-03-30", "2026-01-01", "2026-01-01"}
	var rec resultRecord
	if err := json.Unmarshal([]byte(v1), &rec); err != nil {
		t.Fatal(err)
	}
	r, err := rec.result()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != len(want) {
		t.Fatalf("%d days, want %d", len(r.Days), len(want))
	}
	for i, d := range r.Days {
		if d.Date.String() != want[i] {
			t.Errorf("v1 day %d = %s, want %s", i, d.Date, want[i])
		}
	}

	// Written as version 2, with plain dates, and read back the same.
	b, err := json.Marshal(toResultRecord(r))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"v":2`) || !strings.Contains(s, `"date":"2026-03-30"`) {
		t.Errorf("record = %s, want version 2 with plain dates", s)
	}
	var rec2 resultRecord
	if err := json.Unmarshal(b, &rec2); err != nil {
		t.Fatal(err)
	}
	r2, err := rec2.result()
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Days {
		if r2.Days[i].Date != r.Days[i].Date {
			t.Errorf("v2 day %d = %s, want %s", i, r2.Days[i].Date, r.Days[i].Date)
		}
	}

	for _, bad := range []string{`"2026-13-01"`, `"yesterday"`, `20260101`} {
		var d jdate
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("date %s read as %s, want an error", bad, processing.Date(d))
		}
	}
	if err := json.Unmarshal([]byte(`{"v":3}`), &rec); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.result(); err == nil {
		t.Error("version 3 record read, want an error")
	}
}
