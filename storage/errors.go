package storage

import "errors"

// These errors are returned by Open.
var (
	// ErrLocked is returned when the database file stays locked by another
	// process (or another DB handle in this process) for longer than
	// Options.Timeout. It wraps bbolt's timeout error.
	ErrLocked = errors.New("database file is locked: is another meteragent running?")

	// ErrCorrupt is returned when the file is not a bbolt database, is
	// truncated or damaged, or is a bbolt database of another program. The
	// file is left exactly as it was found.
	ErrCorrupt = errors.New("not a usable meteragent database (corrupt, truncated or foreign file; left untouched)")

	// ErrSchemaTooNew is returned when the file was written by a newer
	// meteragent whose schema this binary does not know. The file is left
	// untouched; upgrade meteragent instead.
	ErrSchemaTooNew = errors.New("database schema is newer than this meteragent knows; upgrade meteragent")
)

// These errors are returned by methods of DB.
var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("database is closed")

	// ErrFull is returned by AddReadings and AddDeadLetter when the write
	// would grow the file beyond Options.MaxSizeBytes. Nothing is written;
	// delete old readings (DeleteReadingsBefore) and compact (CompactTo), or
	// raise the limit.
	ErrFull = errors.New("database reached its size limit")

	// ErrInvalidKey is returned for an empty or oversized meter name, state
	// key or dead-letter source.
	ErrInvalidKey = errors.New("invalid key")
)
