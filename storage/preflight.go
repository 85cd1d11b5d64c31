package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"time"
)

// bbolt's on-disk format, version 2 (go.etcd.io/bbolt internal/common):
// a 16-byte page header {id u64, flags u16, count u16, overflow u32}; a meta
// page continues with {magic u32, version u32, pageSize u32, flags u32,
// root u64, sequence u64, freelist u64, pgid u64, txid u64, checksum u64},
// the checksum being FNV-1a 64 over the meta fields before it. Integers are
// in the host's byte order. The format has not changed since 2014.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16
	metaSize         = 64
	metaSumOffset    = 56 // checksum offset within the meta
	flagBranch       = 0x01
	flagLeaf         = 0x02
	flagFreelist     = 0x10
	pgidNoFreelist   = ^uint64(0)
	minPageSize      = 1024
	maxPageSizeShift = 14 // bbolt looks for the second meta up to 1024<<14
)

type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64 // high-water mark: pages [0, pgid) are in use
	txid     uint64
}

// preflight checks the file at path without modifying it, holding a shared
// lock so that it never reads a file another process is writing. bbolt maps
// the file and trusts its meta pages: on a truncated file bbolt.Open panics
// ("invalid freelist page") or faults on pages past the end of the file,
// which would crash the agent in a restart loop. This check turns that into
// ErrCorrupt. A missing or empty file passes: bbolt initialises it.
func preflight(path string, timeout time.Duration) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockShared(f, timeout); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: not a regular file", ErrCorrupt)
	}
	if fi.Size() == 0 {
		return nil
	}
	return checkBoltFile(f, fi.Size())
}

// checkBoltFile validates the meta pages and that every page they claim is
// inside the file.
func checkBoltFile(r io.ReaderAt, size int64) error {
	var metas []boltMeta
	if m, err := readMeta(r, 0, size); err == nil {
		metas = append(metas, m)
		if m1, err := readMeta(r, int64(m.pageSize), size); err == nil {
			metas = append(metas, m1)
		}
	} else {
		// Like bbolt: with the first meta unreadable, search the second at
		// every page size it supports.
		for i := range maxPageSizeShift + 1 {
			if m1, err := readMeta(r, int64(minPageSize)<<i, size); err == nil {
				metas = append(metas, m1)
				break
			}
		}
	}
	if len(metas) == 0 {
		return fmt.Errorf("%w: no valid bbolt meta page in %d bytes", ErrCorrupt, size)
	}
	m := metas[0]
	for _, o := range metas[1:] {
		if o.txid > m.txid {
			m = o
		}
	}
	ps := int64(m.pageSize)
	if m.pgid < 4 || m.pgid > uint64(size)/uint64(ps) {
		return fmt.Errorf("%w: truncated: %d bytes hold %d pages of %d bytes, the meta page claims %d",
			ErrCorrupt, size, size/ps, ps, m.pgid)
	}
	if err := checkPage(r, m.root, ps, m.pgid, flagBranch|flagLeaf, "root"); err != nil {
		return err
	}
	if m.freelist != pgidNoFreelist {
		if err := checkPage(r, m.freelist, ps, m.pgid, flagFreelist, "freelist"); err != nil {
			return err
		}
	}
	return nil
}

func readMeta(r io.ReaderAt, off, size int64) (boltMeta, error) {
	var buf [pageHeaderSize + metaSize]byte
	if off+int64(len(buf)) > size {
		return boltMeta{}, io.ErrUnexpectedEOF
	}
	if _, err := r.ReadAt(buf[:], off); err != nil {
		return boltMeta{}, err
	}
	b := buf[pageHeaderSize:]
	le := binary.NativeEndian
	h := fnv.New64a()
	h.Write(b[:metaSumOffset])
	switch {
	case le.Uint32(b[0:]) != boltMagic:
		return boltMeta{}, errors.New("bad magic")
	case le.Uint32(b[4:]) != boltVersion:
		return boltMeta{}, errors.New("bad version")
	case le.Uint64(b[metaSumOffset:]) != h.Sum64():
		return boltMeta{}, errors.New("bad checksum")
	}
	m := boltMeta{
		pageSize: le.Uint32(b[8:]),
		root:     le.Uint64(b[16:]),
		freelist: le.Uint64(b[32:]),
		pgid:     le.Uint64(b[40:]),
		txid:     le.Uint64(b[48:]),
	}
	if m.pageSize < minPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return boltMeta{}, fmt.Errorf("bad page size %d", m.pageSize)
	}
	return m, nil
}

func checkPage(r io.ReaderAt, id uint64, pageSize int64, hwm uint64, flags uint16, what string) error {
	if id < 2 || id >= hwm {
		return fmt.Errorf("%w: %s page %d outside the file's %d pages", ErrCorrupt, what, id, hwm)
	}
	var hdr [pageHeaderSize]byte
	if _, err := r.ReadAt(hdr[:], int64(id)*pageSize); err != nil {
		return fmt.Errorf("%w: read %s page %d: %w", ErrCorrupt, what, id, err)
	}
	le := binary.NativeEndian
	if got := le.Uint64(hdr[0:]); got != id {
		return fmt.Errorf("%w: %s page %d has id %d", ErrCorrupt, what, id, got)
	}
	if le.Uint16(hdr[8:])&flags == 0 {
		return fmt.Errorf("%w: %s page %d has type %#x", ErrCorrupt, what, id, le.Uint16(hdr[8:]))
	}
	return nil
}
