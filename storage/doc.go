// Package storage is meteragent's durable store: one bbolt file that holds
// the meter readings, the conflicts and dead letters met on the way in, the
// computed series, and small per-source state. It imports processing for its
// value types and nothing else of meteragent, and it never logs: every
// problem is an error for the caller to report.
//
// # Basics
//
// Open a file with [Open] and close it with [DB.Close]. A DB is safe for
// concurrent use; bbolt serialises writers. Every write method runs one
// committed transaction, so when it returns nil the data is on disk.
//
//   - Readings: [DB.AddReadings] stores a batch idempotently. The same
//     reading twice is stored once; a different value at an instant that is
//     already stored is not written over but recorded as a [Conflict] and
//     reported; an unusable reading (empty meter, zero time, NaN) is kept as
//     a dead letter. Read them back with [DB.Readings], [DB.AllReadings],
//     [DB.MeterStats], [DB.CountReadingsSince] and [DB.Conflicts].
//   - Dead letters: [DB.AddDeadLetter] keeps raw input that could not be
//     used, with its source, topic, receive time and reason.
//   - Computed series: [DB.PutResult] replaces a meter's [StoredResult] whole;
//     [DB.Result] and [DB.ResultMeters] read them.
//   - State: [DB.SetState] and [DB.State] keep cursors and other small values.
//   - Maintenance: [DB.DeleteReadingsBefore] (retention), [DB.CompactTo] (a
//     copy that shrinks the file) and [DB.Check] (full consistency check).
//
// # Bucket layout (schema 1)
//
//	meta                    "schema" → decimal schema version ("2")
//	readings/<meter>        time key (8 bytes) → value (8 bytes)
//	conflicts/<meter>       time key + offered value (16 bytes) → JSON {v, time, stored, new, seen}
//	dead                    sequence (8 bytes, big-endian) → JSON {v, source, topic, payload_text | payload_b64, size, received, reason}
//	results                 meter → JSON {v, kind, unit, computed, days, months, anomalies, events}
//	state                   key → raw bytes
//
// A time key is the instant in Unix nanoseconds as a big-endian uint64 with
// the sign bit flipped, so that byte order is time order, before 1970 too.
// The range is that of int64 nanoseconds, 1678 to 2262. A reading's value is
// the float64's IEEE 754 bits, big-endian. Readings are binary because they
// are most of the file (an hourly meter adds 8,760 a year, and JSON would
// triple their size); everything else is JSON with a version field "v", so
// that `bbolt get` shows it and a future schema can tell old records apart.
// JSON has no NaN, so non-finite numbers in results are the strings "NaN",
// "+Inf" and "-Inf". A result record of version 2 holds each day as its
// calendar date ("2006-01-02"); version 1 held the day's local midnight as a
// timestamp and is still read (its day is the date that timestamp shows).
// Files of schema 2 may hold both; schema 1 files held only version 1.
// Other times in results keep their instant and UTC offset but not their
// zone name; readings come back in UTC.
//
// The schema version lives in the meta bucket. Open runs the missing
// migrations in order in one transaction, so a crash leaves the old version;
// it refuses a file of a newer schema with [ErrSchemaTooNew]. Schema 0 is the
// layout before the version was recorded (no meta bucket), which includes a
// new empty file.
//
// # Durability
//
// Files are opened with fsync on commit (bbolt's default; [Options.NoSync]
// exists for tests only), with the freelist persisted and a hash-map
// freelist. bbolt writes data pages, fsyncs, then writes the meta page and
// fsyncs again, and a torn meta page is detected by its checksum and the
// previous one used: after a power loss the file holds exactly the
// transactions whose commit returned. A caller may therefore acknowledge a
// source (an MQTT QoS 1 message) once AddReadings has returned nil. Each
// commit costs two fsyncs, so batch readings: BenchmarkAddReadings measures
// readings per second for batches of 1 to 1,000 per commit.
//
// # Opening safely
//
// Only one process may have the file open: bbolt takes an exclusive flock,
// which also conflicts between two handles in one process. Open waits at
// most [Options.Timeout] (1s by default, never forever) and then returns
// [ErrLocked], "is another meteragent running?".
//
// bbolt trusts the file it maps: on a truncated file bbolt.Open panics or
// faults. Before bbolt sees the file, Open therefore reads its meta pages
// itself, under a shared lock, and checks their checksums, that every page
// they claim lies inside the file, and that the root and freelist pages are
// what they claim to be. A file that fails (random bytes, truncated, not
// bbolt) or a bbolt file of another program yields [ErrCorrupt] naming the
// path, and the file is not modified. A zero-length file holds nothing to
// lose and is initialised like a new one. Damage inside pages that pass these
// checks (bit rot) is found by [DB.Check], which reads every page; a method
// that reaches such a page returns ErrCorrupt, where bbolt alone would panic
// and crash the agent on every start.
//
// # Size and 32-bit platforms
//
// bbolt maps the whole file into memory. On 32-bit ARM (Raspberry Pi OS
// armhf) bbolt's ceiling is a 2 GB map, and a 32-bit process rarely finds
// more than about 1 GiB of contiguous address space. [Options.MaxSizeBytes]
// (default [DefaultMaxSizeBytes], 960 MiB, and at most that on 32-bit) bounds
// the data: AddReadings and AddDeadLetter fail with [ErrFull] rather than
// grow the map until the process crashes. Space freed by retention counts as
// free again. For scale, a reading takes about 36 bytes when readings arrive
// in time order: an hourly meter uses 0.36 MB a year, a meter reporting every
// minute 19 MB (measured with batches of 100). The initial map is 4 MiB, so small
// files never remap; the file is grown sparsely to the map size.
//
// Dead letters are bounded too: at most [Options.MaxDeadLetters] (10,000 by
// default) are kept, the oldest dropped first, and a payload is cut at
// [MaxDeadLetterPayload] bytes.
//
// # Caveats
//
//   - A bbolt file never shrinks: deleted pages are reused, not returned.
//     Run [DB.CompactTo] with the agent stopped to copy the data into a
//     tight new file, and rename it over the old one before closing the
//     database: the lock, held until then, keeps a starting agent off the
//     old file, and [Open] retries when the file it waited for was replaced.
//   - Retention ([DB.DeleteReadingsBefore]) removes readings and their
//     conflicts but not the computed series, which keep what was derived.
//   - Values returned by this package are copies; nothing refers to the
//     memory map after a method returns.
//   - The file uses the host's byte order in bbolt's own pages: copy it
//     between little-endian machines only (all Raspberry Pis and PCs are).
package storage
