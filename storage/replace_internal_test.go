//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package storage

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// An Open that waits for the lock while the file is renamed over (as `db
// compact` does) ends up with the new file, not the old one whose lock it
// was waiting for: writes to the old one would be lost.
func TestOpenAfterReplace(t *testing.T) {
	dir := t.TempDir()
	path, newer := filepath.Join(dir, "m.db"), filepath.Join(dir, "new.db")
	opt := Options{NoSync: true, Timeout: time.Minute}
	only := processing.MeterReading{Meter: "strom", Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Value: 1}
	for _, p := range []string{path, newer} {
		db, err := Open(p, opt)
		if err != nil {
			t.Fatal(err)
		}
		if p == newer {
			if _, err := db.AddReadings([]processing.MeterReading{only}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A shared lock lets Open's preflight through and keeps bbolt's
	// exclusive lock waiting on the old file.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := lockShared(f, time.Second); err != nil {
		t.Fatal(err)
	}
	type opened struct {
		db  *DB
		err error
	}
	done := make(chan opened, 1)
	go func() {
		db, err := Open(path, opt)
		done <- opened{db, err}
	}()
	// Gives Open time to reach the lock wait on the old file; the outcome
	// must be the same if it has not.
	time.Sleep(200 * time.Millisecond)
	if err := os.Rename(newer, path); err != nil {
		t.Fatal(err)
	}
	f.Close()
	o := <-done
	if o.err != nil {
		t.Fatalf("Open = %v", o.err)
	}
	defer o.db.Close()
	rs, err := o.db.Readings("strom", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !rs[0].Time.Equal(only.Time) {
		t.Errorf("Open after the replacement reads %v, want the new file's one reading", rs)
	}
}
