package storage_test

import (
	"encoding/binary"
	"math"
	"path/filepath"
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
		if got := string(meta.Get([]byte("schema"))); got != "1" {
			t.Errorf("meta/schema = %q, want \"1\"", got)
		}
		return nil
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	mustOpenPath(t, path, testOptions())
}
