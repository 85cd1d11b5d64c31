package storage

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Defaults applied by Open for zero Options fields.
const (
	// DefaultTimeout bounds the wait for the file lock. bbolt's zero
	// timeout waits forever, which would hang a second agent silently.
	DefaultTimeout = time.Second

	// DefaultMaxSizeBytes keeps the memory map at or below 1 GiB, which a
	// 32-bit process can still map in one piece (see the package doc).
	DefaultMaxSizeBytes = 960 << 20

	// MaxSizeBytes32 is the largest MaxSizeBytes accepted on 32-bit
	// platforms; bbolt's own ceiling there is 2 GB of map, but a map larger
	// than 1 GiB rarely fits in a 32-bit address space next to the heap.
	MaxSizeBytes32 = DefaultMaxSizeBytes

	// DefaultMaxDeadLetters is how many dead letters are kept before the
	// oldest are dropped.
	DefaultMaxDeadLetters = 10000

	// MaxDeadLetterPayload is how many bytes of a dead letter's payload are
	// kept; DeadLetter.Size records the original length.
	MaxDeadLetterPayload = 64 << 10

	// MaxKeyLen bounds meter names, state keys and dead-letter sources.
	MaxKeyLen = 1024

	// initialMmapSize pre-sizes the map so that a small database never
	// remaps (a remap waits for all readers); it is small enough to be
	// harmless on 32-bit. The file is grown sparsely to this size.
	initialMmapSize = 4 << 20
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for the file lock before it returns
	// ErrLocked. Zero means DefaultTimeout; it never waits forever.
	// Negative is an error.
	Timeout time.Duration

	// MaxSizeBytes is a soft limit on the data in the file. Writes that
	// would cross it fail with ErrFull instead of letting the memory map
	// grow past what the platform can map; the file may exceed it by a few
	// pages. Zero means DefaultMaxSizeBytes. On 32-bit platforms values
	// above MaxSizeBytes32 are rejected.
	MaxSizeBytes int64

	// MaxDeadLetters is how many dead letters are kept; adding more drops
	// the oldest. Zero means DefaultMaxDeadLetters.
	MaxDeadLetters int

	// NoSync skips fsync on commit. For tests and benchmarks only: a power
	// loss can then lose committed data or corrupt the file.
	NoSync bool

	// Now returns the current time, recorded on conflicts and on dead
	// letters without a receive time. Nil means time.Now.
	Now func() time.Time
}

// intSize is strconv.IntSize, a variable so that a test on a 64-bit host can
// check the 32-bit limits.
var intSize = strconv.IntSize

func (o Options) withDefaults() (Options, error) {
	if o.Timeout < 0 {
		return o, fmt.Errorf("timeout %v: must not be negative", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxSizeBytes < 0 {
		return o, fmt.Errorf("max size %d: must not be negative", o.MaxSizeBytes)
	}
	if o.MaxSizeBytes == 0 {
		o.MaxSizeBytes = DefaultMaxSizeBytes
	}
	if intSize == 32 && o.MaxSizeBytes > MaxSizeBytes32 {
		return o, fmt.Errorf("max size %d: above %d, the limit on 32-bit platforms", o.MaxSizeBytes, MaxSizeBytes32)
	}
	if o.MaxDeadLetters < 0 {
		return o, fmt.Errorf("max dead letters %d: must not be negative", o.MaxDeadLetters)
	}
	if o.MaxDeadLetters == 0 {
		o.MaxDeadLetters = DefaultMaxDeadLetters
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

func (o Options) bolt() *bolt.Options {
	mmap := initialMmapSize
	if int64(mmap) > o.MaxSizeBytes {
		mmap = int(o.MaxSizeBytes)
	}
	return &bolt.Options{
		Timeout:         o.Timeout,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: mmap,
		NoSync:          o.NoSync,
	}
}

// DB is an open meteragent database. It is safe for concurrent use; write
// transactions are serialised by bbolt.
type DB struct {
	bolt   *bolt.DB
	path   string
	opt    Options
	schema int
}

// Open opens or creates the database at path. Before bbolt touches the file,
// Open checks that it is a complete bbolt file, so that a corrupt or
// truncated file yields ErrCorrupt instead of a crash, and is not modified.
// An existing empty (zero-length) file holds no data and is initialised like
// a new one. A file written by an older meteragent is migrated in a single
// transaction; one written by a newer one is refused with ErrSchemaTooNew.
func Open(path string, opt Options) (*DB, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	deadline := time.Now().Add(opt.Timeout)
	var bdb *bolt.DB
	for {
		bdb, err = openLocked(path, opt, deadline)
		if err == nil {
			break
		}
		if !errors.Is(err, errReplaced) {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("open %s: %w (%w after %v)", path, ErrLocked, err, opt.Timeout)
		}
	}
	db := &DB{bolt: bdb, path: path, opt: opt}
	if err := db.migrate(); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// errReplaced means the file at the path was replaced (renamed over, as
// `meteragent db compact` does) while Open waited for its lock: the lock it
// got is that of a file nobody will read again, and writes to it would be
// lost. Open tries again with the new file.
var errReplaced = errors.New("the file was replaced while waiting for its lock")

// openLocked preflights and opens the file at path, taking bbolt's lock by
// deadline, or fails with errReplaced.
func openLocked(path string, opt Options, deadline time.Time) (*bolt.DB, error) {
	if err := preflight(path, max(time.Until(deadline), time.Millisecond)); err != nil {
		return nil, err
	}
	before, statErr := os.Stat(path)
	bo := opt.bolt()
	// The preflight spent part of the lock budget; the rest is bbolt's.
	bo.Timeout = max(time.Until(deadline), time.Millisecond)
	bdb, err := bolt.Open(path, 0o600, bo)
	if err != nil {
		return nil, mapOpenError(err)
	}
	// A file created by bolt.Open had no predecessor to be replaced.
	if statErr == nil {
		after, err := os.Stat(path)
		if err != nil || !os.SameFile(before, after) {
			_ = bdb.Close()
			return nil, errReplaced
		}
	}
	return bdb, nil
}

func mapOpenError(err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("%w (%w)", ErrLocked, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// Close closes the database, releasing the file lock. Calling it again is a
// no-op; every other method then returns ErrClosed.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the path the database was opened with.
func (db *DB) Path() string { return db.path }

// SchemaVersion returns the schema version of the open file, which Open has
// migrated to CurrentSchema.
func (db *DB) SchemaVersion() int { return db.schema }

// Check walks every page of the file and reports inconsistencies, wrapped in
// ErrCorrupt. It reads the whole file and holds the write lock meanwhile
// (bbolt's check is only safe against concurrent writers inside a write
// transaction, which it rolls back): run it as a maintenance command, not on
// every start.
func (db *DB) Check() (err error) {
	defer guard(&err)()
	tx, err := db.bolt.Begin(true)
	if err != nil {
		return fmt.Errorf("check %s: %w", db.path, mapTxError(err))
	}
	defer func() { _ = tx.Rollback() }()
	// bbolt's Check runs in a goroutine of its own, where a damaged page
	// panics beyond our recover; reading every key and value first, here,
	// turns such a page into an error.
	if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		return touch(b)
	}); err != nil {
		return fmt.Errorf("check %s: %w", db.path, err)
	}
	var errs []error
	for e := range tx.Check() {
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("check %s: %w: %w", db.path, ErrCorrupt, errors.Join(errs...))
	}
	return nil
}

// touch reads every key and value of b and its nested buckets.
func touch(b *bolt.Bucket) error {
	h := crc32.NewIEEE()
	return b.ForEach(func(k, v []byte) error {
		h.Write(k)
		if v == nil {
			return touch(b.Bucket(k))
		}
		h.Write(v)
		return nil
	})
}

// view and update run bbolt transactions, translate bbolt's closed error and
// turn a panic or memory fault on a damaged page into ErrCorrupt, so that
// bit rot inside the file costs an error, not a crash loop. bbolt rolls the
// transaction back before the panic reaches us.
func (db *DB) view(fn func(*bolt.Tx) error) (err error) {
	defer guard(&err)()
	return mapTxError(db.bolt.View(fn))
}

func (db *DB) update(fn func(*bolt.Tx) error) (err error) {
	defer guard(&err)()
	return mapTxError(db.bolt.Update(fn))
}

// guard makes memory faults in this goroutine panics (bbolt reads a mapped
// file) and returns the deferred function that recovers them into *err.
func guard(err *error) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			*err = fmt.Errorf("%w: bbolt failed on a damaged page: %v", ErrCorrupt, r)
		}
	}
}

func mapTxError(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// checkRoom refuses a write of about n bytes that would take the data past
// MaxSizeBytes. The data is the high-water mark (the part of the file that is
// mapped) less the free pages below it, which bbolt reuses before growing the
// file; so space freed by DeleteReadingsBefore counts as room again.
func (db *DB) checkRoom(tx *bolt.Tx, n int64) error {
	const headroom = 16 << 10 // a few pages for branch splits and the freelist
	free := int64(db.bolt.Stats().FreePageN) * int64(db.bolt.Info().PageSize)
	used := tx.Size() - free
	if used+n+headroom > db.opt.MaxSizeBytes {
		return fmt.Errorf("%w: %d bytes used, %d more needed, limit %d", ErrFull, used, n, db.opt.MaxSizeBytes)
	}
	return nil
}

func checkKey(what, k string) error {
	if k == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidKey, what)
	}
	if len(k) > MaxKeyLen {
		return fmt.Errorf("%w: %s of %d bytes, longer than %d", ErrInvalidKey, what, len(k), MaxKeyLen)
	}
	return nil
}

// finite reports whether f is neither NaN nor infinite.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
