package storage

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Top-level buckets of the current layout (see the package doc).
var (
	bucketMeta      = []byte("meta")
	bucketReadings  = []byte("readings")
	bucketConflicts = []byte("conflicts")
	bucketDead      = []byte("dead")
	bucketResults   = []byte("results")
	bucketState     = []byte("state")

	keySchema = []byte("schema")
)

// layoutBuckets are the top-level buckets a meteragent file may hold, at any
// schema version so far. A file with other buckets and no meta bucket belongs
// to another program and is refused rather than migrated.
var layoutBuckets = map[string]bool{
	"meta": true, "readings": true, "conflicts": true, "dead": true, "results": true, "state": true,
}

// migrations[v] migrates a file from schema v to v+1. They run in order inside
// one write transaction, so a crash leaves the file at its old version.
// Append to this table; never edit a released entry.
var migrations = []func(tx *bolt.Tx) error{
	// v0 is the layout before the schema was recorded: no meta bucket,
	// possibly some of the buckets below (a new, empty file is v0 too).
	0: func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketReadings, bucketConflicts, bucketDead, bucketResults, bucketState} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// v2: results may hold records of version 2 (days as calendar dates).
	// Nothing is rewritten, version 1 records stay readable; the number
	// is raised so that an older meteragent refuses the file with
	// ErrSchemaTooNew instead of failing on every newer record.
	1: func(tx *bolt.Tx) error { return nil },
}

// CurrentSchema is the schema version this binary writes. It equals
// len(migrations), which a test enforces.
const CurrentSchema = 2

// readSchema returns the schema version of the file. It does not write.
func readSchema(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if !layoutBuckets[string(name)] {
				return fmt.Errorf("%w: unknown bucket %q, no schema: a bbolt file of another program?", ErrCorrupt, name)
			}
			return nil
		})
		return 0, err
	}
	raw := meta.Get(keySchema)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w: schema version %q in bucket meta is not a number", ErrCorrupt, raw)
	}
	return v, nil
}

// migrate brings the open file to CurrentSchema. It writes only when the
// file is older and is known to be ours.
func (db *DB) migrate() error {
	var v int
	if err := db.view(func(tx *bolt.Tx) error {
		var err error
		v, err = readSchema(tx)
		return err
	}); err != nil {
		return err
	}
	if v > CurrentSchema {
		return fmt.Errorf("%w: file has schema %d, this binary knows up to %d", ErrSchemaTooNew, v, CurrentSchema)
	}
	if v < CurrentSchema {
		err := db.update(func(tx *bolt.Tx) error {
			for from := v; from < CurrentSchema; from++ {
				if err := migrations[from](tx); err != nil {
					return fmt.Errorf("migrate schema %d to %d: %w", from, from+1, err)
				}
			}
			return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(CurrentSchema)))
		})
		if err != nil {
			return err
		}
	}
	db.schema = CurrentSchema
	return nil
}
