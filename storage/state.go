package storage

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SetState stores value under key (a source's cursor, last poll time, ...),
// replacing what was there, in one committed transaction.
func (db *DB) SetState(key string, value []byte) error {
	if err := checkKey("state key", key); err != nil {
		return fmt.Errorf("set state: %w", err)
	}
	if value == nil {
		// bbolt treats a nil value as empty, but State should say "found".
		value = []byte{}
	}
	err := db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketState).Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("set state %q: %w", key, err)
	}
	return nil
}

// State returns a copy of the value stored under key, and false if there is
// none.
func (db *DB) State(key string) ([]byte, bool, error) {
	var (
		out   []byte
		found bool
	)
	err := db.view(func(tx *bolt.Tx) error {
		if key == "" {
			return nil
		}
		v := tx.Bucket(bucketState).Get([]byte(key))
		if v != nil {
			out, found = bytes.Clone(v), true
			if out == nil {
				out = []byte{}
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("state %q: %w", key, err)
	}
	return out, found, nil
}
