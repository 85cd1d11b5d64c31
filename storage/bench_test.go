package storage_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

// BenchmarkAddReadings measures sustained ingest with acknowledgement after
// commit: every AddReadings call is one fsynced transaction (NoSync false), so
// readings/s for a batch size tells the MQTT side how many readings to
// collect per commit. The nosync run shows what the fsync costs.
func BenchmarkAddReadings(b *testing.B) {
	for _, tc := range []struct {
		batch  int
		noSync bool
	}{{1, false}, {10, false}, {100, false}, {1000, false}, {100, true}} {
		name := fmt.Sprintf("batch=%d", tc.batch)
		if tc.noSync {
			name += "/nosync"
		}
		b.Run(name, func(b *testing.B) {
			db, err := storage.Open(filepath.Join(b.TempDir(), "bench.db"), storage.Options{NoSync: tc.noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			meters := []string{"gas", "water", "power", "heat"}
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			rs := make([]processing.MeterReading, tc.batch)
			n := 0
			for b.Loop() {
				for j := range rs {
					// Four meters reporting every second, as MQTT delivers them.
					rs[j] = processing.MeterReading{Meter: meters[n%len(meters)], Time: start.Add(time.Duration(n/len(meters)) * time.Second), Value: float64(n)}
					n++
				}
				res, err := db.AddReadings(rs)
				if err != nil {
					b.Fatal(err)
				}
				if res.Added != tc.batch {
					b.Fatalf("added %d of %d", res.Added, tc.batch)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}

// BenchmarkReadings measures reading a year of hourly readings of one meter,
// what a recompute does per meter.
func BenchmarkReadings(b *testing.B) {
	db, err := storage.Open(filepath.Join(b.TempDir(), "bench.db"), storage.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rs := make([]processing.MeterReading, 8760)
	for i := range rs {
		rs[i] = processing.MeterReading{Meter: "gas", Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour), Value: float64(i)}
	}
	if _, err := db.AddReadings(rs); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		got, err := db.Readings("gas", time.Time{}, time.Time{})
		if err != nil || len(got) != len(rs) {
			b.Fatal(len(got), err)
		}
	}
}
