package storage_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

// fixedNow is the clock of test databases, so that recorded times are known.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testOptions() storage.Options {
	// NoSync: the tests check logic, not the disk; durability is bbolt's
	// fsync, exercised by the benchmarks and the crash test.
	return storage.Options{NoSync: true, Now: func() time.Time { return fixedNow }}
}

// mustOpen opens a new database in a temporary directory. Its cleanup checks
// every page of the file before closing it.
func mustOpen(t testing.TB) *storage.DB {
	t.Helper()
	return mustOpenPath(t, filepath.Join(t.TempDir(), "meteragent.db"), testOptions())
}

func mustOpenPath(t testing.TB, path string, opt storage.Options) *storage.DB {
	t.Helper()
	db, err := storage.Open(path, opt)
	if err != nil {
		t.Fatalf("Open(%s) = %v", path, err)
	}
	t.Cleanup(func() {
		// A test may have closed the database itself.
		if err := db.Check(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Errorf("Check() = %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return db
}

func mr(meter string, t time.Time, v float64) processing.MeterReading {
	return processing.MeterReading{Meter: meter, Time: t, Value: v}
}

func mustAdd(t testing.TB, db *storage.DB, rs ...processing.MeterReading) storage.AddResult {
	t.Helper()
	res, err := db.AddReadings(rs)
	if err != nil {
		t.Fatalf("AddReadings(%d readings) = %v", len(rs), err)
	}
	return res
}

func mustReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// day returns midnight UTC of the given date.
func day(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func rd(t time.Time, v float64) processing.Reading {
	return processing.Reading{Time: t, Value: v}
}
