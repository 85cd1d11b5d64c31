package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/meteragent/meteragent/processing"
)

// AddResult reports what AddReadings did with each reading of a batch.
type AddResult struct {
	Added      int        // readings stored
	Duplicates int        // readings already stored with the same value; skipped
	Conflicts  []Conflict // readings whose instant holds another value; not stored
	Rejected   []Rejected // readings that cannot be stored; kept as dead letters
}

// Conflict is a reading offered for an instant that already holds a
// different value. The stored value is kept; the offer is recorded once.
type Conflict struct {
	Meter  string
	Time   time.Time // instant, in UTC
	Stored float64   // value kept
	New    float64   // value offered and refused
	Seen   time.Time // when the offer was first recorded (Options.Now)
}

// Rejected is a reading AddReadings could not store, and why.
type Rejected struct {
	Reading processing.MeterReading
	Reason  string
}

// MeterStat summarises the stored readings of one meter.
type MeterStat struct {
	Meter       string
	Count       int
	First, Last processing.Reading
}

// readingCost over-estimates the file growth per stored reading: 16 bytes of
// key and value, a 16-byte leaf element, and pages kept 90% full.
const readingCost = 48

// readingsFill packs pages nearly full: readings arrive mostly in time order,
// so the default 50% split would leave every page half empty.
const readingsFill = 0.9

// AddReadings stores a batch of readings in one committed write transaction:
// when it returns nil the batch is on disk (fsync), so the caller may
// acknowledge its source. Storing is idempotent: a reading already stored
// with the same value counts as a duplicate. A different value at a stored
// instant is not written over; it is recorded as a conflict (see Conflicts)
// and reported. Readings with an empty or oversized meter name, a zero time,
// a time outside 1678..2262, or a NaN or infinite value are rejected and kept
// as dead letters (source "storage") in the same transaction, so that one bad
// reading neither blocks nor loses the batch. On error nothing is written; a
// batch that would cross Options.MaxSizeBytes fails with ErrFull.
func (db *DB) AddReadings(rs []processing.MeterReading) (AddResult, error) {
	var res AddResult
	if len(rs) == 0 {
		return res, nil
	}
	now := db.opt.Now()
	err := db.update(func(tx *bolt.Tx) error {
		res = AddResult{}
		if err := db.checkRoom(tx, int64(len(rs))*readingCost); err != nil {
			return err
		}
		root := tx.Bucket(bucketReadings)
		// bbolt keeps references to keys and values until commit, so
		// they need memory of their own: one allocation for the batch.
		buf := make([]byte, len(rs)*(keyLen+valueLen))
		buckets := make(map[string]*bolt.Bucket)
		for _, r := range rs {
			if reason := checkReading(r); reason != "" {
				res.Rejected = append(res.Rejected, Rejected{Reading: r, Reason: reason})
				if err := db.putDeadLetter(tx, rejectedLetter(r, reason, now)); err != nil {
					return err
				}
				continue
			}
			b := buckets[r.Meter]
			if b == nil {
				var err error
				if b, err = root.CreateBucketIfNotExists([]byte(r.Meter)); err != nil {
					return fmt.Errorf("meter %q: %w", r.Meter, err)
				}
				b.FillPercent = readingsFill
				buckets[r.Meter] = b
			}
			k, v := buf[:keyLen:keyLen], buf[keyLen:keyLen+valueLen:keyLen+valueLen]
			buf = buf[keyLen+valueLen:]
			putTimeKey(k, r.Time)
			if old := b.Get(k); old != nil {
				stored, err := decodeValue(old)
				if err != nil {
					return fmt.Errorf("meter %q: %w", r.Meter, err)
				}
				if stored == r.Value {
					res.Duplicates++
					continue
				}
				c, err := putConflict(tx, Conflict{Meter: r.Meter, Time: r.Time.UTC(), Stored: stored, New: r.Value, Seen: now})
				if err != nil {
					return err
				}
				res.Conflicts = append(res.Conflicts, c)
				continue
			}
			putValue(v, r.Value)
			if err := b.Put(k, v); err != nil {
				return fmt.Errorf("meter %q: %w", r.Meter, err)
			}
			res.Added++
		}
		return nil
	})
	if err != nil {
		return AddResult{}, fmt.Errorf("add readings: %w", err)
	}
	return res, nil
}

// checkReading returns why r cannot be stored, or "".
func checkReading(r processing.MeterReading) string {
	switch {
	case r.Meter == "":
		return "empty meter name"
	case len(r.Meter) > MaxKeyLen:
		return fmt.Sprintf("meter name of %d bytes, longer than %d", len(r.Meter), MaxKeyLen)
	case r.Time.IsZero():
		return "zero time"
	case !representable(r.Time):
		return fmt.Sprintf("time %s outside 1678..2262", r.Time.Format(time.RFC3339))
	case math.IsNaN(r.Value):
		return "value is NaN"
	case math.IsInf(r.Value, 0):
		return "value is infinite"
	}
	return ""
}

// conflictRecord is the JSON form of a Conflict in bucket conflicts/<meter>.
type conflictRecord struct {
	V      int       `json:"v"`
	Time   time.Time `json:"time"`
	Stored float64   `json:"stored"`
	New    float64   `json:"new"`
	Seen   time.Time `json:"seen"`
}

// putConflict records c unless the same offer was recorded before, and
// returns the record as stored.
func putConflict(tx *bolt.Tx, c Conflict) (Conflict, error) {
	b, err := tx.Bucket(bucketConflicts).CreateBucketIfNotExists([]byte(c.Meter))
	if err != nil {
		return c, fmt.Errorf("conflicts of meter %q: %w", c.Meter, err)
	}
	k := make([]byte, keyLen+valueLen)
	putTimeKey(k, c.Time)
	putValue(k[keyLen:], c.New)
	if old := b.Get(k); old != nil {
		prev, err := decodeConflict(c.Meter, old)
		if err != nil {
			return c, err
		}
		return prev, nil
	}
	v, err := json.Marshal(conflictRecord{V: 1, Time: c.Time.UTC(), Stored: c.Stored, New: c.New, Seen: c.Seen})
	if err != nil {
		return c, err
	}
	return c, b.Put(k, v)
}

func decodeConflict(meter string, v []byte) (Conflict, error) {
	var r conflictRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return Conflict{}, fmt.Errorf("%w: conflict of meter %q: %w", ErrCorrupt, meter, err)
	}
	return Conflict{Meter: meter, Time: r.Time.UTC(), Stored: r.Stored, New: r.New, Seen: r.Seen}, nil
}

// Readings returns the readings of meter with from <= Time < to, sorted by
// time, with times in UTC. A zero from or to leaves that end open. An unknown
// meter has no readings.
func (db *DB) Readings(meter string, from, to time.Time) ([]processing.Reading, error) {
	var out []processing.Reading
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReadings).Bucket([]byte(meter))
		if b == nil {
			return nil
		}
		var err error
		out, err = scan(b, from, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("readings of meter %q: %w", meter, err)
	}
	return out, nil
}

// scan decodes the readings of b in [from, to) into fresh memory.
func scan(b *bolt.Bucket, from, to time.Time) ([]processing.Reading, error) {
	var end []byte
	// A bound past the last representable instant is no bound: clamping it
	// would exclude a reading at that very instant.
	if !to.IsZero() && !to.After(maxTime) {
		end = timeKey(to)
	}
	c := b.Cursor()
	k, v := c.First()
	if !from.IsZero() {
		k, v = c.Seek(timeKey(from))
	}
	var out []processing.Reading
	for ; k != nil; k, v = c.Next() {
		if end != nil && bytes.Compare(k, end) >= 0 {
			break
		}
		r, err := decodeReading(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func decodeReading(k, v []byte) (processing.Reading, error) {
	t, err := decodeTime(k)
	if err != nil {
		return processing.Reading{}, err
	}
	f, err := decodeValue(v)
	if err != nil {
		return processing.Reading{}, err
	}
	return processing.Reading{Time: t, Value: f}, nil
}

// AllReadings returns every stored reading, by meter, each sorted by time.
func (db *DB) AllReadings() (map[string][]processing.Reading, error) {
	out := make(map[string][]processing.Reading)
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReadings).ForEachBucket(func(name []byte) error {
			rs, err := scan(tx.Bucket(bucketReadings).Bucket(name), time.Time{}, time.Time{})
			if err != nil {
				return fmt.Errorf("meter %q: %w", name, err)
			}
			out[string(name)] = rs
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("all readings: %w", err)
	}
	return out, nil
}

// MeterStats returns, for every meter with readings, how many there are and
// the first and last, sorted by meter name.
func (db *DB) MeterStats() ([]MeterStat, error) {
	var out []MeterStat
	err := db.view(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketReadings)
		return root.ForEachBucket(func(name []byte) error {
			b := root.Bucket(name)
			s := MeterStat{Meter: string(name), Count: b.Stats().KeyN}
			c := b.Cursor()
			var err error
			if k, v := c.First(); k != nil {
				if s.First, err = decodeReading(k, v); err != nil {
					return fmt.Errorf("meter %q: %w", name, err)
				}
			}
			if k, v := c.Last(); k != nil {
				if s.Last, err = decodeReading(k, v); err != nil {
					return fmt.Errorf("meter %q: %w", name, err)
				}
			}
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("meter stats: %w", err)
	}
	return out, nil
}

// CountReadingsSince returns how many readings of meter have Time >= t.
func (db *DB) CountReadingsSince(meter string, t time.Time) (int, error) {
	n := 0
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReadings).Bucket([]byte(meter))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Seek(timeKey(t)); k != nil; k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count readings of meter %q: %w", meter, err)
	}
	return n, nil
}

// Conflicts returns the recorded conflicts of meter, or of all meters when
// meter is "", sorted by meter, time and offered value.
func (db *DB) Conflicts(meter string) ([]Conflict, error) {
	var out []Conflict
	err := db.view(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketConflicts)
		one := func(name []byte) error {
			b := root.Bucket(name)
			if b == nil {
				return nil
			}
			return b.ForEach(func(_, v []byte) error {
				c, err := decodeConflict(string(name), v)
				out = append(out, c)
				return err
			})
		}
		if meter != "" {
			return one([]byte(meter))
		}
		return root.ForEachBucket(one)
	})
	if err != nil {
		return nil, fmt.Errorf("conflicts: %w", err)
	}
	return out, nil
}

// deleteChunk bounds the pages a retention transaction dirties, so that
// deleting years of readings does not need all of them in memory at once.
// A variable so that a test can cross chunk boundaries cheaply.
var deleteChunk = 50000

// DeleteReadingsBefore deletes the readings of meter, or of every meter when
// meter is "", with Time < t, together with their recorded conflicts, and
// returns how many readings it deleted. A meter left without readings is
// removed. Computed series (PutResult) are not touched: they keep what was
// derived. The space is reused by later writes; only CompactTo shrinks the
// file. Large deletions commit in several transactions.
func (db *DB) DeleteReadingsBefore(meter string, t time.Time) (int, error) {
	var meters []string
	if meter != "" {
		meters = []string{meter}
	} else {
		err := db.view(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketReadings).ForEachBucket(func(name []byte) error {
				meters = append(meters, string(name))
				return nil
			})
		})
		if err != nil {
			return 0, fmt.Errorf("delete readings: %w", err)
		}
	}
	end := timeKey(t)
	total := 0
	for _, m := range meters {
		for {
			n, err := db.deleteBefore(m, end)
			total += n
			if err != nil {
				return total, fmt.Errorf("delete readings of meter %q: %w", m, err)
			}
			if n < deleteChunk {
				break
			}
		}
	}
	return total, nil
}

// deleteBefore deletes up to deleteChunk readings of meter before the key end
// in one transaction, and the conflicts before end.
func (db *DB) deleteBefore(meter string, end []byte) (int, error) {
	n := 0
	err := db.update(func(tx *bolt.Tx) error {
		n = 0
		root := tx.Bucket(bucketReadings)
		b := root.Bucket([]byte(meter))
		if b == nil {
			return nil
		}
		// Deleting under a cursor can skip keys in bbolt, so collect first.
		keys := collectBefore(b, end, deleteChunk)
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		if k, _ := b.Cursor().First(); k == nil {
			if err := root.DeleteBucket([]byte(meter)); err != nil {
				return err
			}
		}
		if cb := tx.Bucket(bucketConflicts).Bucket([]byte(meter)); cb != nil {
			for _, k := range collectBefore(cb, end, 0) {
				if err := cb.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// collectBefore copies the keys of b that sort before end, at most limit of
// them (0 = all). Conflict keys start with the reading's time key, so the
// comparison works for both buckets.
func collectBefore(b *bolt.Bucket, end []byte, limit int) [][]byte {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:min(len(k), keyLen)], end) < 0; k, _ = c.Next() {
		if limit > 0 && len(keys) == limit {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}
