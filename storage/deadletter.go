package storage

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/meteragent/meteragent/processing"
)

// DeadLetter is input that could not be used: kept so that nothing a source
// delivered is lost silently, and so that an operator can see why.
type DeadLetter struct {
	ID       uint64 // assigned by AddDeadLetter, increasing; ignored on input
	Source   string // where it came from, e.g. "mqtt", "csv", "tibber"; "unknown" if empty
	Topic    string // MQTT topic, file name or similar; may be empty
	Payload  []byte // the raw input, at most MaxDeadLetterPayload bytes
	Size     int    // length of the original payload; set by AddDeadLetter
	Received time.Time
	Reason   string
}

// deadRecord is the JSON form of a DeadLetter. A UTF-8 payload is stored as
// text so that `bbolt get` shows it; anything else as base64.
type deadRecord struct {
	V           int       `json:"v"`
	Source      string    `json:"source"`
	Topic       string    `json:"topic,omitempty"`
	PayloadText *string   `json:"payload_text,omitempty"`
	PayloadB64  []byte    `json:"payload_b64,omitempty"`
	Size        int       `json:"size"`
	Received    time.Time `json:"received"`
	Reason      string    `json:"reason"`
}

// AddDeadLetter stores d in its own committed transaction. Payloads longer
// than MaxDeadLetterPayload are cut (Size keeps the original length); a zero
// Received is set to now. When more than Options.MaxDeadLetters are stored
// the oldest are dropped. It fails with ErrFull near Options.MaxSizeBytes.
func (db *DB) AddDeadLetter(d DeadLetter) error {
	if d.Received.IsZero() {
		d.Received = db.opt.Now()
	}
	err := db.update(func(tx *bolt.Tx) error {
		if err := db.checkRoom(tx, int64(min(len(d.Payload), MaxDeadLetterPayload)+len(d.Topic)+len(d.Reason)+256)); err != nil {
			return err
		}
		return db.putDeadLetter(tx, d)
	})
	if err != nil {
		return fmt.Errorf("add dead letter: %w", err)
	}
	return nil
}

func (db *DB) putDeadLetter(tx *bolt.Tx, d DeadLetter) error {
	if d.Source == "" {
		d.Source = "unknown"
	}
	rec := deadRecord{V: 1, Source: d.Source, Topic: d.Topic, Size: len(d.Payload), Received: d.Received, Reason: d.Reason}
	p := d.Payload
	if len(p) > MaxDeadLetterPayload {
		p = p[:MaxDeadLetterPayload]
	}
	if utf8.Valid(p) {
		s := string(p)
		rec.PayloadText = &s
	} else {
		rec.PayloadB64 = p
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketDead)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if err := b.Put(seqKey(seq), v); err != nil {
		return err
	}
	// Keys are consecutive sequence numbers and only the oldest are ever
	// deleted, so the count is the distance from the first key.
	c := b.Cursor()
	for k, _ := c.First(); k != nil && seq-binary.BigEndian.Uint64(k)+1 > uint64(db.opt.MaxDeadLetters); k, _ = c.First() {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func seqKey(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

// rejectedLetter keeps a reading AddReadings refused. The payload is the
// reading in JSON; its value is a string because JSON has no NaN.
func rejectedLetter(r processing.MeterReading, reason string, now time.Time) DeadLetter {
	p, _ := json.Marshal(struct {
		Meter string `json:"meter"`
		Time  string `json:"time"`
		Value string `json:"value"`
	}{r.Meter, r.Time.Format(time.RFC3339Nano), strconv.FormatFloat(r.Value, 'g', -1, 64)})
	return DeadLetter{Source: "storage", Topic: truncate(r.Meter, MaxKeyLen), Payload: p, Received: now, Reason: reason}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// DeadLetters returns up to limit dead letters, newest first; limit <= 0
// returns all of them.
func (db *DB) DeadLetters(limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDead).Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			d, err := decodeDeadLetter(k, v)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	return out, nil
}

func decodeDeadLetter(k, v []byte) (DeadLetter, error) {
	if len(k) != 8 {
		return DeadLetter{}, fmt.Errorf("%w: dead letter key of %d bytes", ErrCorrupt, len(k))
	}
	id := binary.BigEndian.Uint64(k)
	var r deadRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return DeadLetter{}, fmt.Errorf("%w: dead letter %d: %w", ErrCorrupt, id, err)
	}
	d := DeadLetter{ID: id, Source: r.Source, Topic: r.Topic, Payload: r.PayloadB64, Size: r.Size, Received: r.Received, Reason: r.Reason}
	if r.PayloadText != nil {
		d.Payload = []byte(*r.PayloadText)
	}
	return d, nil
}

// DeadLetterCount returns how many dead letters are stored.
func (db *DB) DeadLetterCount() (int, error) {
	n := 0
	err := db.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketDead).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count dead letters: %w", err)
	}
	return n, nil
}

// DeadLetterSources returns how many dead letters are stored per source. It
// decodes every record, which is fine for the bounded dead-letter bucket.
func (db *DB) DeadLetterSources() (map[string]int, error) {
	bySource := make(map[string]int)
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(k, v []byte) error {
			var r struct {
				Source string `json:"source"`
			}
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: dead letter %x: %w", ErrCorrupt, k, err)
			}
			bySource[r.Source]++
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("count dead letters by source: %w", err)
	}
	return bySource, nil
}
