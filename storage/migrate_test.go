package storage_test

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/meteragent/meteragent/storage"
)

// A v0 file is the layout before the schema was recorded: readings with the
// documented key and value encoding, no meta bucket, not all buckets yet.
func TestMigrateFromV0(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v0.db")
	at := time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)
	writeBolt(t, path, func(tx *bolt.Tx) error {
		root, err := tx.CreateBucket([]byte("readings"))
		if err != nil {
			return err
		}
		gas, err := root.CreateBucket([]byte("gas"))
		if err != nil {
			return err
		}
		// The package doc's encoding, written out by hand.
		k := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())^(1<<63))
		v := binary.BigEndian.AppendUint64(nil, math.Float64bits(1234.5))
		if err := gas.Put(k, v); err != nil {
			return err
		}
		st, err := tx.CreateBucket([]byte("state"))
		if err != nil {
			return err
		}
		return st.Put([]byte("cursor"), []byte("v0"))
	})

	db, err := storage.Open(path, testOptions())
	if err != nil {
		t.Fatalf("Open(v0 file) = %v", err)
	}
	if got := db.SchemaVersion(); got != storage.CurrentSchema {
		t.Errorf("SchemaVersion() = %d, want %d", got, storage.CurrentSchema)
	}
	got, err := db.Readings("gas", time.Time{}, time.Time{})
	if err != nil || len(got) != 1 || !got[0].Time.Equal(at) || got[0].Value != 1234.5 {
		t.Errorf("Readings(gas) after migration = %v, %v; want 1234.5 at %v", got, err, at)
	}
	if v, ok, _ := db.State("cursor"); !ok || string(v) != "v0" {
		t.Errorf("State(cursor) after migration = %q, %v", v, ok)
	}
	// Buckets v0 lacked exist now.
	if err := db.AddDeadLetter(storage.DeadLetter{Source: "x", Reason: "y"}); err != nil {
		t.Errorf("AddDeadLetter after migration = %v", err)
	}
	if err := db.PutResult("gas", storage.StoredResult{}); err != nil {
		t.Errorf("PutResult after migration = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The version is recorded in the file, where the bbolt CLI shows it.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if meta == nil {
			t.Fatal("no meta bucket after migration")
		}
		if got, want := string(meta.Get([]byte("schema"))), strconv.Itoa(storage.CurrentSchema); got != want {
			t.Errorf("meta/schema = %q, want %q", got, want)
		}
		return nil
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	mustOpenPath(t, path, testOptions())
}

// A v1 file holds result records of version 1 (a day as its local midnight
// with offset). Migrating to v2 rewrites nothing: the record reads as
// before, and the raised schema makes older binaries refuse the file.
func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	v1 := `{"v":1,"kind":"physical","unit":"m3","computed":"2026-11-27T12:00:00Z","days":[` +
		`{"date":"2026-03-29T00:00:00+01:00","reading":1,"consumption":2,"quality":"measured"},` +
		`{"date":"2026-03-30T00:00:00+02:00","reading":3,"consumption":"NaN","quality":"unknown"}]}`
	writeBolt(t, path, func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "readings", "conflicts", "dead", "results", "state"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1")); err != nil {
			return err
		}
		return tx.Bucket([]byte("results")).Put([]byte("gas"), []byte(v1))
	})
	db, err := storage.Open(path, testOptions())
	if err != nil {
		t.Fatalf("Open(v1 file) = %v", err)
	}
	defer db.Close()
	if got := db.SchemaVersion(); got != storage.CurrentSchema {
		t.Errorf("SchemaVersion() = %d, want %d", got, storage.CurrentSchema)
	}
	r, ok, err := db.Result("gas")
	if err != nil || !ok {
		t.Fatalf("Result(gas) = %v, %v", ok, err)
	}
	if len(r.Days) != 2 || r.Days[0].Date.String() != "2026-03-29" || r.Days[1].Date.String() != "2026-03-30" || r.Days[0].Consumption != 2 {
		t.Errorf("Result(gas).Days = %+v, want 2026-03-29 (use 2) and 2026-03-30", r.Days)
	}
}
