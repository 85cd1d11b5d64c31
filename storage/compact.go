package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	bolt "go.etcd.io/bbolt"
)

// compactTxMax bounds each write transaction of CompactTo, so that memory
// stays small on a Pi whatever the size of the file.
const compactTxMax = 16 << 20

// CompactTo copies the open database into a new file dst, packing pages
// tightly; a bbolt file never shrinks otherwise. On success dst has been
// checked page by page and synced (unless Options.NoSync). The database keeps
// its lock meanwhile: renaming dst over the file before Close means no other
// process can open the old file and write to it between the copy and the
// rename (Open refuses or waits, and after a wait opens the new file). dst
// must not exist; on error it is removed.
func (db *DB) CompactTo(dst string) (err error) {
	defer guard(&err)()
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("compact %s: destination %s: %w", db.path, dst, fs.ErrExist)
	}
	if err := db.bolt.View(func(*bolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("compact %s: %w", db.path, mapTxError(err))
	}
	return compactTo(db.bolt, db.path, dst, db.opt)
}

func compactTo(from *bolt.DB, src, dst string, opt Options) error {
	bo := opt.bolt()
	bo.InitialMmapSize = 0 // keep the copy as small as its data
	to, err := bolt.Open(dst, 0o600, bo)
	if err != nil {
		return fmt.Errorf("compact %s: create %s: %w", src, dst, err)
	}
	if err := compactInto(to, from); err != nil {
		_ = to.Close()
		_ = os.Remove(dst)
		return fmt.Errorf("compact %s into %s: %w", src, dst, err)
	}
	if err := to.Close(); err != nil {
		_ = os.Remove(dst)
		return fmt.Errorf("compact %s: close %s: %w", src, dst, err)
	}
	return nil
}

func compactInto(to, from *bolt.DB) error {
	if err := bolt.Compact(to, from, compactTxMax); err != nil {
		return err
	}
	var errs []error
	if err := to.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			errs = append(errs, e)
		}
		return nil
	}); err != nil {
		return err
	}
	return errors.Join(errs...)
}
