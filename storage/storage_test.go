package storage_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

func TestOpenNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	db := mustOpenPath(t, path, testOptions())
	if got := db.Path(); got != path {
		t.Errorf("Path() = %q, want %q", got, path)
	}
	if got := db.SchemaVersion(); got != storage.CurrentSchema {
		t.Errorf("SchemaVersion() = %d, want %d", got, storage.CurrentSchema)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode = %v, want 0600 (readings are private)", perm)
	}
}

// An empty file holds nothing to lose (a crash between creating and
// initialising it leaves one), so it is initialised like a new file.
func TestOpenZeroLengthFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db := mustOpenPath(t, path, testOptions())
	mustAdd(t, db, mr("m", day(2026, 1, 1), 1))
	if n, err := db.CountReadingsSince("m", time.Time{}); err != nil || n != 1 {
		t.Errorf("CountReadingsSince = %d, %v; want 1, nil", n, err)
	}
}

func TestOpenOptionErrors(t *testing.T) {
	for name, opt := range map[string]storage.Options{
		"negative timeout":      {Timeout: -time.Second},
		"negative size":         {MaxSizeBytes: -1},
		"negative dead letters": {MaxDeadLetters: -1},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			db, err := storage.Open(path, opt)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%+v) succeeded, want an error", opt)
			}
			if _, serr := os.Stat(path); serr == nil {
				t.Errorf("Open(%+v) failed but created %s", opt, path)
			}
		})
	}
}

// bbolt locks with flock, which also conflicts between two handles of one
// process, so a second Open here stands for a second meteragent.
func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	first := mustOpenPath(t, path, testOptions())
	mustAdd(t, first, mr("m", day(2026, 1, 1), 1))

	opt := testOptions()
	opt.Timeout = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		db, err := storage.Open(path, opt)
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("second Open still waiting after 30s; it must give up after its timeout")
	}
	if !errors.Is(err, storage.ErrLocked) || !errors.Is(err, berrors.ErrTimeout) {
		t.Fatalf("second Open = %v, want ErrLocked wrapping bbolt's ErrTimeout", err)
	}
	for _, want := range []string{path, "another meteragent"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// The failed Open did not disturb the first handle.
	mustAdd(t, first, mr("m", day(2026, 1, 2), 2))
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := mustOpenPath(t, path, opt)
	if n, err := second.CountReadingsSince("m", time.Time{}); err != nil || n != 2 {
		t.Errorf("after the first handle closed: CountReadingsSince = %d, %v; want 2, nil", n, err)
	}
}

// makeDB writes a real database with enough readings to span many pages and
// returns its path, closed, its page size and where its data ends (the file is longer:
// bbolt grows it ahead, sparsely).
func makeDB(t *testing.T) (path string, pageSize, dataEnd int) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "full.db")
	db, err := storage.Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var rs []processing.MeterReading
	for i := range 5000 {
		rs = append(rs, mr("m", day(2020, 1, 1).Add(time.Duration(i)*time.Hour), float64(i)))
	}
	mustAdd(t, db, rs...)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if err := bdb.View(func(tx *bolt.Tx) error {
		dataEnd = int(tx.Size())
		pageSize = tx.DB().Info().PageSize
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return path, pageSize, dataEnd
}

func TestOpenCorrupt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	path, pageSize, dataEnd := makeDB(t)
	valid := mustReadFile(t, path)
	zeroMetas := bytes.Clone(valid)
	clear(zeroMetas[:2*pageSize])
	flipped := bytes.Clone(valid)
	flipped[pageSize+40] ^= 0xFF // the meta's root field, in both meta pages
	flipped[40] ^= 0xFF

	cases := []struct {
		name    string
		content []byte
	}{
		{"random 64 KiB", random(64 << 10)},
		{"random 100 bytes", random(100)},
		{"random 3000 bytes", random(3000)},
		{"text file", []byte("readings:\n  - 1\n")},
		{"truncated to 16 KiB", valid[:16<<10]},
		{"truncated to 5000 bytes", valid[:5000]},
		// bbolt.Open alone panics on this one.
		{"truncated inside the data", valid[:dataEnd/2]},
		{"truncated by one page", valid[:dataEnd-pageSize]},
		{"meta pages zeroed", zeroMetas},
		{"meta checksums broken", flipped},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.db")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := storage.Open(path, testOptions())
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want ErrCorrupt")
			}
			if !errors.Is(err, storage.ErrCorrupt) {
				t.Errorf("Open = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if got := mustReadFile(t, path); !bytes.Equal(got, tc.content) {
				t.Errorf("Open changed the file: %d bytes before, %d after", len(tc.content), len(got))
			}
		})
	}
}

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := storage.Open(dir, testOptions())
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Open(directory) = %v, want an error naming it", err)
	}
}

// A bbolt file of another program is not migrated into ours.
func TestOpenForeignBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	writeBolt(t, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("widgets"))
		if err != nil {
			return err
		}
		return b.Put([]byte("a"), []byte("b"))
	})
	before := mustReadFile(t, path)
	_, err := storage.Open(path, testOptions())
	if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), `"widgets"`) {
		t.Fatalf("Open(foreign bbolt file) = %v, want ErrCorrupt naming the bucket", err)
	}
	if !bytes.Equal(mustReadFile(t, path), before) {
		t.Error("Open changed a foreign file")
	}
}

func TestOpenSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	writeBolt(t, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("schema"), []byte("99"))
	})
	before := mustReadFile(t, path)
	_, err := storage.Open(path, testOptions())
	if !errors.Is(err, storage.ErrSchemaTooNew) || !strings.Contains(err.Error(), "99") {
		t.Fatalf("Open(schema 99) = %v, want ErrSchemaTooNew naming 99", err)
	}
	if !bytes.Equal(mustReadFile(t, path), before) {
		t.Error("Open changed a file of a newer schema")
	}
}

func TestOpenBadSchemaValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad-schema.db")
	writeBolt(t, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("schema"), []byte("one"))
	})
	if _, err := storage.Open(path, testOptions()); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Open(schema %q) = %v, want ErrCorrupt", "one", err)
	}
}

func TestClosed(t *testing.T) {
	db := mustOpen(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	checks := map[string]error{}
	_, checks["AddReadings"] = db.AddReadings([]processing.MeterReading{mr("m", day(2026, 1, 1), 1)})
	_, checks["Readings"] = db.Readings("m", time.Time{}, time.Time{})
	checks["SetState"] = db.SetState("k", nil)
	checks["AddDeadLetter"] = db.AddDeadLetter(storage.DeadLetter{Source: "x"})
	checks["PutResult"] = db.PutResult("m", storage.StoredResult{})
	for name, err := range checks {
		if !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

// writeBolt creates a bbolt file at path directly, as another program or an
// older meteragent would have.
func writeBolt(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// Damage inside a page passes the checks at Open (they read only the meta,
// root and freelist pages). bbolt then panics when it reaches the page; the
// package must turn that into ErrCorrupt instead of crashing the agent.
func TestDamagedPage(t *testing.T) {
	path, pageSize, dataEnd := makeDB(t)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, pageSize), int64(dataEnd/pageSize/2*pageSize)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(path, testOptions())
	if err != nil {
		t.Fatalf("Open = %v; want the damage found later, by Check", err)
	}
	defer db.Close()
	if err := db.Check(); !errors.Is(err, storage.ErrCorrupt) {
		t.Errorf("Check() = %v, want ErrCorrupt", err)
	}
	if _, err := db.Readings("m", time.Time{}, time.Time{}); !errors.Is(err, storage.ErrCorrupt) {
		t.Errorf("Readings over the damaged page = %v, want ErrCorrupt", err)
	}
	// The database stays usable for what the damage does not touch.
	if err := db.SetState("k", []byte("v")); err != nil {
		t.Errorf("SetState after the damage = %v", err)
	}
}
