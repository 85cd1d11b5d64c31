package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

// db compact keeps the database locked from the copy to the rename: an
// agent starting in between fails fast with the usual ErrLocked, or, when it
// waits long enough, opens the compacted file, so its writes are kept.
func TestDBCompactHoldsLock(t *testing.T) {
	ctx := t.Context()
	dir := agentDir(t, "http:\n  listen: \"\"\n")
	if code, _, errOut := runCmd(t, ctx, "import", "csv", filepath.Join(agentTestdata, "readings.csv"), "--config", dir); code != 0 {
		t.Fatal(errOut)
	}
	late := processing.MeterReading{Meter: "strom", Time: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), Value: 3000}
	waited := make(chan error, 1)
	hooked := false
	afterCompactCopy = func(path string) {
		hooked = true
		db, err := storage.Open(path, storage.Options{Timeout: 50 * time.Millisecond})
		if err == nil {
			db.Close()
			t.Error("a second Open between the copy and the rename succeeded")
		} else if !errors.Is(err, storage.ErrLocked) || !strings.Contains(err.Error(), "is another meteragent running?") {
			t.Errorf("second Open during compaction: %v, want ErrLocked", err)
		}
		go func() {
			db, err := storage.Open(path, storage.Options{Timeout: time.Minute})
			if err != nil {
				waited <- err
				return
			}
			_, err = db.AddReadings([]processing.MeterReading{late})
			waited <- errors.Join(err, db.Close())
		}()
	}
	t.Cleanup(func() { afterCompactCopy = nil })

	code, out, errOut := runCmd(t, ctx, "db", "compact", "--config", dir)
	if code != 0 || !strings.Contains(out, "compacted ") || !hooked {
		t.Fatalf("db compact exit %d (hook ran: %v): %s%s", code, hooked, out, errOut)
	}
	if err := <-waited; err != nil {
		t.Fatalf("Open waiting through the compaction: %v", err)
	}
	code, out, errOut = runCmd(t, ctx, "db", "check", "--config", dir)
	if code != 0 || !strings.Contains(out, "124 readings") {
		t.Errorf("db check after compaction: exit %d %s%s, want the 123 imported readings and the one written while waiting", code, out, errOut)
	}
}
