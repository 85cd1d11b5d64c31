package storage_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

// snapshot is everything a database returns through its API.
type snapshot struct {
	Readings    map[string][]processing.Reading
	Conflicts   []storage.Conflict
	DeadLetters []storage.DeadLetter
	Results     map[string]storage.StoredResult
	State       []byte
}

func takeSnapshot(t *testing.T, db *storage.DB) snapshot {
	t.Helper()
	var s snapshot
	var err error
	if s.Readings, err = db.AllReadings(); err != nil {
		t.Fatal(err)
	}
	if s.Conflicts, err = db.Conflicts(""); err != nil {
		t.Fatal(err)
	}
	if s.DeadLetters, err = db.DeadLetters(0); err != nil {
		t.Fatal(err)
	}
	meters, err := db.ResultMeters()
	if err != nil {
		t.Fatal(err)
	}
	s.Results = map[string]storage.StoredResult{}
	for _, m := range meters {
		r, _, err := db.Result(m)
		if err != nil {
			t.Fatal(err)
		}
		s.Results[m] = r
	}
	if s.State, _, err = db.State("cursor"); err != nil {
		t.Fatal(err)
	}
	return s
}

// CompactTo copies an open database into a tight new file with the same
// content, and keeps its lock throughout: a second Open meanwhile fails fast
// with ErrLocked.
func TestCompactTo(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	db, err := storage.Open(src, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var rs []processing.MeterReading
	for i := range 30000 {
		rs = append(rs, mr([]string{"gas", "water", "power"}[i%3], day(2020, 1, 1).Add(time.Duration(i)*time.Minute), float64(i)))
	}
	mustAdd(t, db, rs...)
	mustAdd(t, db, mr("gas", rs[len(rs)-3].Time, -1)) // a conflict, kept by retention
	for _, reason := range []string{"a", "b", "c"} {
		if err := db.AddDeadLetter(storage.DeadLetter{Source: "mqtt", Payload: []byte("x"), Reason: reason, Received: fixedNow}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutResult("gas", storage.StoredResult{Unit: "m3", Computed: fixedNow, Days: []processing.Day{{Date: processing.DateOf(day(2020, 1, 1)), Reading: 1, Consumption: 2, Quality: processing.QualityMeasured}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetState("cursor", []byte("c1")); err != nil {
		t.Fatal(err)
	}
	// Retention frees most pages; the file keeps its size.
	if _, err := db.DeleteReadingsBefore("", rs[len(rs)-300].Time); err != nil {
		t.Fatal(err)
	}
	want := takeSnapshot(t, db)
	if err := db.CompactTo(dst); err != nil {
		t.Fatalf("CompactTo = %v", err)
	}
	if _, err := storage.Open(src, storage.Options{Timeout: 50 * time.Millisecond}); !errors.Is(err, storage.ErrLocked) {
		t.Errorf("Open while the compacted database is open = %v, want ErrLocked", err)
	}
	if err := db.CompactTo(dst); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CompactTo onto an existing file = %v, want fs.ErrExist", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.CompactTo(filepath.Join(dir, "other.db")); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("CompactTo of a closed database = %v, want ErrClosed", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.db")); err == nil {
		t.Error("failed CompactTo left a destination file")
	}

	srcInfo, _ := os.Stat(src)
	dstInfo, _ := os.Stat(dst)
	if dstInfo.Size() >= srcInfo.Size()/4 {
		t.Errorf("compacted file has %d bytes, source %d: want far smaller after deleting 99%% of the readings", dstInfo.Size(), srcInfo.Size())
	}
	out := mustOpenPath(t, dst, testOptions())
	if got := takeSnapshot(t, out); !reflect.DeepEqual(got, want) {
		t.Errorf("compacted database differs:\n got %+v\nwant %+v", got, want)
	}
	// Sequences survive: new dead letters do not reuse IDs.
	if err := out.AddDeadLetter(storage.DeadLetter{Source: "mqtt", Reason: "d"}); err != nil {
		t.Fatal(err)
	}
	if dls, _ := out.DeadLetters(1); dls[0].ID != 4 {
		t.Errorf("next dead letter after compaction has ID %d, want 4", dls[0].ID)
	}
}
