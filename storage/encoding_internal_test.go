package storage

import (
	"bytes"
	"cmp"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Byte order of keys must be time order, and decoding must invert encoding.
func FuzzTimeKey(f *testing.F) {
	for _, s := range [][2]int64{{0, 1}, {-1, 0}, {math.MinInt64, math.MaxInt64}, {-1e18, 1e18}, {5, 5}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b int64) {
		ka, kb := timeKey(time.Unix(0, a)), timeKey(time.Unix(0, b))
		if got, want := bytes.Compare(ka, kb), cmp.Compare(a, b); got != want {
			t.Errorf("keys of %d and %d compare %d, times compare %d", a, b, got, want)
		}
		ta, err := decodeTime(ka)
		if err != nil || ta.UnixNano() != a {
			t.Errorf("decodeTime(timeKey(%d)) = %d, %v", a, ta.UnixNano(), err)
		}
	})
}

// Values are stored bit for bit; any 8 bytes decode, other lengths are errors.
func FuzzDecodeValue(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, v []byte) {
		x, err := decodeValue(v)
		if len(v) != valueLen {
			if err == nil {
				t.Errorf("decodeValue(%d bytes) = %v, want an error", len(v), x)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		back := make([]byte, valueLen)
		putValue(back, x)
		if !bytes.Equal(back, v) {
			t.Errorf("putValue(decodeValue(%x)) = %x", v, back)
		}
	})
}

// checkBoltFile reads untrusted bytes: it must never panic, and must accept
// a real file.
func FuzzCheckBoltFile(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	pageSize := db.bolt.Info().PageSize
	db.Close()
	valid, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	valid = valid[:min(len(valid), 6*pageSize)]
	if err := checkBoltFile(bytes.NewReader(valid), int64(len(valid))); err != nil {
		f.Fatalf("checkBoltFile(new database) = %v", err)
	}
	f.Add(valid)
	f.Add(valid[:100])
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xed, 0xda, 0x0c, 0xed}, 2048))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = checkBoltFile(bytes.NewReader(b), int64(len(b)))
	})
}
