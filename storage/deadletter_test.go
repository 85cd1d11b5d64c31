package storage_test

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/storage"
)

func TestDeadLetters(t *testing.T) {
	db := mustOpen(t)
	received := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	in := []storage.DeadLetter{
		{Source: "mqtt", Topic: "home/gas", Payload: []byte(`{"value": "abc"}`), Received: received, Reason: "value is not a number"},
		{Source: "mqtt", Topic: "home/water", Payload: []byte{0xff, 0x00, 0xfe}, Received: received.Add(time.Second), Reason: "not UTF-8"},
		{Source: "csv", Topic: "readings.csv:17", Payload: []byte("2026-13-01;5"), Reason: "bad date"}, // no receive time
		{Topic: "x", Payload: nil, Received: received, Reason: "empty"},                                // no source
	}
	for _, d := range in {
		if err := db.AddDeadLetter(d); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.DeadLetters(0)
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.DeadLetter{
		{ID: 4, Source: "unknown", Topic: "x", Payload: []byte{}, Received: received, Reason: "empty"},
		{ID: 3, Source: "csv", Topic: "readings.csv:17", Payload: []byte("2026-13-01;5"), Size: 12, Received: fixedNow, Reason: "bad date"},
		{ID: 2, Source: "mqtt", Topic: "home/water", Payload: []byte{0xff, 0x00, 0xfe}, Size: 3, Received: received.Add(time.Second), Reason: "not UTF-8"},
		{ID: 1, Source: "mqtt", Topic: "home/gas", Payload: []byte(`{"value": "abc"}`), Size: 16, Received: received, Reason: "value is not a number"},
	}
	if len(got) != len(want) {
		t.Fatalf("DeadLetters(0) = %d letters, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Source != w.Source || g.Topic != w.Topic || !bytes.Equal(g.Payload, w.Payload) ||
			g.Size != w.Size || !g.Received.Equal(w.Received) || g.Reason != w.Reason {
			t.Errorf("DeadLetters[%d] = %+v, want %+v", i, g, w)
		}
	}
	if got, _ := db.DeadLetters(2); len(got) != 2 || got[0].ID != 4 || got[1].ID != 3 {
		t.Errorf("DeadLetters(2) = %+v, want the newest two", got)
	}
	if n, err := db.DeadLetterCount(); err != nil || n != 4 {
		t.Errorf("DeadLetterCount() = %d, %v; want 4", n, err)
	}
	bySource, err := db.DeadLetterSources()
	if err != nil {
		t.Fatal(err)
	}
	if wantBy := map[string]int{"mqtt": 2, "csv": 1, "unknown": 1}; !reflect.DeepEqual(bySource, wantBy) {
		t.Errorf("DeadLetterSources() = %v, want %v", bySource, wantBy)
	}
}

func TestDeadLetterPayloadCut(t *testing.T) {
	db := mustOpen(t)
	big := bytes.Repeat([]byte("a"), storage.MaxDeadLetterPayload+100)
	if err := db.AddDeadLetter(storage.DeadLetter{Source: "mqtt", Payload: big, Reason: "huge"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.DeadLetters(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0].Payload) != storage.MaxDeadLetterPayload || got[0].Size != len(big) {
		t.Errorf("kept %d of %d bytes (Size %d), want %d kept and Size %d",
			len(got[0].Payload), len(big), got[0].Size, storage.MaxDeadLetterPayload, len(big))
	}
}

// A producer that sends garbage forever must not fill the disk.
func TestDeadLettersBounded(t *testing.T) {
	opt := testOptions()
	opt.MaxDeadLetters = 5
	db := mustOpenPath(t, filepath.Join(t.TempDir(), "dl.db"), opt)
	for i := range 12 {
		if err := db.AddDeadLetter(storage.DeadLetter{Source: "mqtt", Reason: strings.Repeat("r", i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.DeadLetters(0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, d := range got {
		ids = append(ids, d.ID)
	}
	if want := []uint64{12, 11, 10, 9, 8}; !reflect.DeepEqual(ids, want) {
		t.Errorf("kept dead letters %v, want the newest %v", ids, want)
	}
	if n, _ := db.DeadLetterCount(); n != 5 {
		t.Errorf("DeadLetterCount() = %d, want 5", n)
	}
}
