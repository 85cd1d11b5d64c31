package storage_test

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

func TestResultRoundTrip(t *testing.T) {
	db := mustOpen(t)
	cet := time.FixedZone("", 3600)
	in := storage.StoredResult{
		Kind: "physical",
		Unit: "m³",
		Days: []processing.Day{
			{Date: processing.DateOf(time.Date(2026, 1, 1, 0, 0, 0, 0, cet)), Reading: 100, Consumption: 1.25, Quality: processing.QualityMeasured},
			{Date: processing.DateOf(time.Date(2026, 1, 2, 0, 0, 0, 0, cet)), Reading: 101.25, Consumption: math.NaN(), Quality: processing.QualityUnknown},
			{Date: processing.DateOf(time.Date(2026, 1, 3, 0, 0, 0, 0, cet)), Reading: math.NaN(), Consumption: 0.1 + 0.2, Quality: processing.QualityExtrapolated},
		},
		Months: []processing.Month{
			{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, cet), Reading: math.NaN(), Consumption: 31.5, Days: 30},
		},
		Anomalies: []processing.Anomaly{
			{Date: time.Date(2026, 1, 2, 0, 0, 0, 0, cet), Days: 1, Consumption: 9, Expected: 1.2, Score: math.Inf(1), Tests: []string{"zscore", "iqr"}, Kind: "spike"},
		},
		Events: []processing.Event{
			{Time: time.Date(2026, 1, 2, 13, 0, 0, 0, time.UTC), Kind: processing.EventReset, Message: "register restarted at 0"},
		},
		Computed: fixedNow,
	}
	if err := db.PutResult("gas", in); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Result("gas")
	if err != nil || !ok {
		t.Fatalf("Result(gas) = _, %v, %v", ok, err)
	}
	// NaN != NaN, so compare NaN positions by replacing them with a marker.
	if !reflect.DeepEqual(unNaN(got), unNaN(in)) {
		t.Errorf("Result(gas) =\n%+v\nwant\n%+v", got, in)
	}
	if !math.IsNaN(got.Days[1].Consumption) || !math.IsInf(got.Anomalies[0].Score, 1) {
		t.Errorf("non-finite values lost: %v, %v", got.Days[1].Consumption, got.Anomalies[0].Score)
	}

	// Replaced whole.
	if err := db.PutResult("gas", storage.StoredResult{Unit: "kWh"}); err != nil {
		t.Fatal(err)
	}
	got, _, _ = db.Result("gas")
	if got.Unit != "kWh" || len(got.Days) != 0 {
		t.Errorf("after replacing: %+v, want only unit kWh", got)
	}
	if _, ok, err := db.Result("none"); ok || err != nil {
		t.Errorf("Result(none) = _, %v, %v; want not found", ok, err)
	}
	if err := db.PutResult("water", in); err != nil {
		t.Fatal(err)
	}
	if meters, err := db.ResultMeters(); err != nil || !reflect.DeepEqual(meters, []string{"gas", "water"}) {
		t.Errorf("ResultMeters() = %v, %v; want [gas water]", meters, err)
	}
	if err := db.PutResult("", in); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("PutResult(\"\") = %v, want ErrInvalidKey", err)
	}
}

const nanMarker = -123456.789

func unNaN(r storage.StoredResult) storage.StoredResult {
	f := func(x float64) float64 {
		if math.IsNaN(x) {
			return nanMarker
		}
		return x
	}
	out := r
	out.Days = nil
	for _, d := range r.Days {
		d.Reading, d.Consumption = f(d.Reading), f(d.Consumption)
		out.Days = append(out.Days, d)
	}
	out.Months = nil
	for _, m := range r.Months {
		m.Reading, m.Consumption = f(m.Reading), f(m.Consumption)
		out.Months = append(out.Months, m)
	}
	return out
}
