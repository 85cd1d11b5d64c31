package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	bolt "go.etcd.io/bbolt"
)

// compactTxMax bounds each write transaction of Compact, so that memory stays
// small on a Pi whatever the size of the file.
const compactTxMax = 16 << 20

// Compact copies the database at src into a new file dst, packing pages
// tightly; a bbolt file never shrinks otherwise. It is an offline operation:
// src must not be open for writing (ErrLocked otherwise) and is only read.
// dst must not exist. On success dst has been checked page by page and synced
// (unless Options.NoSync); replacing src with it (rename) is up to the caller.
// On error dst is removed. To replace src safely while agents may start, use
// DB.CompactTo instead.
func Compact(src, dst string, opt Options) (err error) {
	opt, err = opt.withDefaults()
	if err != nil {
		return fmt.Errorf("compact %s: %w", src, err)
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("compact %s: %w", src, err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("compact %s: destination %s: %w", src, dst, fs.ErrExist)
	}
	if err := preflight(src, opt.Timeout); err != nil {
		return fmt.Errorf("compact %s: %w", src, err)
	}
	from, err := bolt.Open(src, 0o600, opt.bolt(true))
	if err != nil {
		return fmt.Errorf("compact %s: %w", src, mapOpenError(err))
	}
	defer func() {
		if cerr := from.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("compact %s: %w", src, cerr)
		}
	}()
	if err := from.View(func(tx *bolt.Tx) error {
		_, err := readSchema(tx)
		return err
	}); err != nil {
		return fmt.Errorf("compact %s: %w", src, err)
	}

	return compactTo(from, src, dst, opt)
}

// CompactTo copies the open database into a new file dst, packing pages
// tightly, and checks and syncs it like Compact. Unlike Compact it keeps the
// database's lock meanwhile: renaming dst over the file before Close means no
// other process can open the old file and write to it between the copy and
// the rename (Open refuses or waits, and after a wait opens the new file).
// dst must not exist; on error it is removed.
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
	bo := opt.bolt(false)
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
