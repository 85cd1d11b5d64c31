package storage

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Reading keys are the instant in Unix nanoseconds as a big-endian uint64
// with the sign bit flipped, so that byte order is time order, before 1970
// too. Values are the float64's IEEE 754 bits, big-endian.
const (
	keyLen   = 8
	valueLen = 8
)

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// representable reports whether t fits in int64 Unix nanoseconds
// (1677-09-21 to 2262-04-11).
func representable(t time.Time) bool {
	return !t.Before(minTime) && !t.After(maxTime)
}

// putTimeKey encodes t into k, clamping instants outside the representable
// range (only query bounds can be outside it; stored readings never are).
func putTimeKey(k []byte, t time.Time) {
	var ns int64
	switch {
	case t.Before(minTime):
		ns = math.MinInt64
	case t.After(maxTime):
		ns = math.MaxInt64
	default:
		ns = t.UnixNano()
	}
	binary.BigEndian.PutUint64(k, uint64(ns)^(1<<63))
}

func timeKey(t time.Time) []byte {
	k := make([]byte, keyLen)
	putTimeKey(k, t)
	return k
}

func decodeTime(k []byte) (time.Time, error) {
	if len(k) != keyLen {
		return time.Time{}, fmt.Errorf("%w: reading key of %d bytes, want %d", ErrCorrupt, len(k), keyLen)
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k)^(1<<63))).UTC(), nil
}

func putValue(v []byte, f float64) {
	binary.BigEndian.PutUint64(v, math.Float64bits(f))
}

func decodeValue(v []byte) (float64, error) {
	if len(v) != valueLen {
		return 0, fmt.Errorf("%w: reading value of %d bytes, want %d", ErrCorrupt, len(v), valueLen)
	}
	return math.Float64frombits(binary.BigEndian.Uint64(v)), nil
}
