package storage

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// Retention deletes in chunks of deleteChunk readings per transaction; check
// counts across chunk boundaries, including an exact multiple.
func TestDeleteReadingsBeforeChunks(t *testing.T) {
	defer func(n int) { deleteChunk = n }(deleteChunk)
	deleteChunk = 100
	for _, del := range []int{0, 99, 100, 101, 350, 400} {
		db, err := Open(filepath.Join(t.TempDir(), "d.db"), Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		const total = 400
		base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		rs := make([]processing.MeterReading, total)
		for i := range rs {
			rs[i] = processing.MeterReading{Meter: "m", Time: base.Add(time.Duration(i) * time.Minute), Value: float64(i)}
		}
		if _, err := db.AddReadings(rs); err != nil {
			t.Fatal(err)
		}
		n, err := db.DeleteReadingsBefore("m", base.Add(time.Duration(del)*time.Minute))
		if err != nil || n != del {
			t.Errorf("delete %d: DeleteReadingsBefore = %d, %v; want %d", del, n, err, del)
		}
		if left, _ := db.CountReadingsSince("m", time.Time{}); left != total-del {
			t.Errorf("delete %d: %d readings left, want %d", del, left, total-del)
		}
		if err := db.Check(); err != nil {
			t.Error(err)
		}
		db.Close()
	}
}

func TestMigrationsTable(t *testing.T) {
	if len(migrations) != CurrentSchema {
		t.Errorf("len(migrations) = %d, CurrentSchema = %d: add the migration and bump the constant together", len(migrations), CurrentSchema)
	}
}

func TestOptionsSizeLimit32Bit(t *testing.T) {
	defer func(n int) { intSize = n }(intSize)
	for _, tc := range []struct {
		intSize int
		max     int64
		ok      bool
	}{
		{64, 0, true},
		{64, 8 << 30, true},
		{32, 0, true},
		{32, MaxSizeBytes32, true},
		{32, MaxSizeBytes32 + 1, false},
		{32, 2 << 30, false},
	} {
		intSize = tc.intSize
		o, err := Options{MaxSizeBytes: tc.max}.withDefaults()
		if (err == nil) != tc.ok {
			t.Errorf("%d-bit, MaxSizeBytes %d: err = %v, want ok = %v", tc.intSize, tc.max, err, tc.ok)
		}
		if err == nil && (o.MaxSizeBytes <= 0 || o.Timeout <= 0) {
			t.Errorf("%d-bit, MaxSizeBytes %d: defaults not applied: %+v", tc.intSize, tc.max, o)
		}
	}
}
