package storage_test

import (
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

func TestAddReadingsIdempotent(t *testing.T) {
	db := mustOpen(t)
	batch := []processing.MeterReading{
		mr("gas", day(2026, 1, 1), 100),
		mr("gas", day(2026, 1, 2), 101.5),
		mr("water", day(2026, 1, 1), 7),
	}
	if res := mustAdd(t, db, batch...); res.Added != 3 || res.Duplicates != 0 || len(res.Conflicts) != 0 {
		t.Errorf("first AddReadings = %+v, want 3 added", res)
	}
	// A redelivered batch (MQTT QoS 1 after a lost ACK) changes nothing.
	if res := mustAdd(t, db, batch...); res.Added != 0 || res.Duplicates != 3 || len(res.Conflicts) != 0 {
		t.Errorf("second AddReadings = %+v, want 3 duplicates", res)
	}
	// The same instant in another zone is the same reading.
	berlin := mustLoad(t, "Europe/Berlin")
	if res := mustAdd(t, db, mr("gas", day(2026, 1, 1).In(berlin), 100)); res.Duplicates != 1 {
		t.Errorf("same instant in Europe/Berlin: %+v, want a duplicate", res)
	}
	// Duplicates inside one batch are stored once.
	d := day(2026, 1, 3)
	if res := mustAdd(t, db, mr("gas", d, 102), mr("gas", d, 102)); res.Added != 1 || res.Duplicates != 1 {
		t.Errorf("duplicate inside a batch: %+v, want 1 added, 1 duplicate", res)
	}
	got, err := db.Readings("gas", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []processing.Reading{rd(day(2026, 1, 1), 100), rd(day(2026, 1, 2), 101.5), rd(day(2026, 1, 3), 102)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Readings(gas) = %v, want %v", got, want)
	}
}

func TestAddReadingsConflict(t *testing.T) {
	now := fixedNow
	opt := testOptions()
	opt.Now = func() time.Time { return now }
	db := mustOpenPath(t, filepath.Join(t.TempDir(), "c.db"), opt)
	at := day(2026, 2, 1).Add(6 * time.Hour)
	mustAdd(t, db, mr("power", at, 5000))

	res := mustAdd(t, db, mr("power", at, 5001), mr("power", at.Add(time.Hour), 5002))
	if res.Added != 1 || len(res.Conflicts) != 1 {
		t.Fatalf("AddReadings = %+v, want 1 added and 1 conflict", res)
	}
	want := storage.Conflict{Meter: "power", Time: at, Stored: 5000, New: 5001, Seen: fixedNow}
	if !reflect.DeepEqual(res.Conflicts[0], want) {
		t.Errorf("conflict = %+v, want %+v", res.Conflicts[0], want)
	}
	// The stored value was not overwritten.
	if got, _ := db.Readings("power", at, at.Add(time.Nanosecond)); len(got) != 1 || got[0].Value != 5000 {
		t.Errorf("Readings at the conflict = %v, want the first value 5000", got)
	}

	// Offered again later: reported again, recorded once, with the first time seen.
	now = fixedNow.Add(time.Hour)
	res = mustAdd(t, db, mr("power", at, 5001), mr("power", at, 4999))
	if len(res.Conflicts) != 2 || !res.Conflicts[0].Seen.Equal(fixedNow) || !res.Conflicts[1].Seen.Equal(now) {
		t.Errorf("repeated conflict = %+v, want 2 conflicts, seen at %v and %v", res.Conflicts, fixedNow, now)
	}
	got, err := db.Conflicts("power")
	if err != nil {
		t.Fatal(err)
	}
	wantAll := []storage.Conflict{
		{Meter: "power", Time: at, Stored: 5000, New: 4999, Seen: now},
		{Meter: "power", Time: at, Stored: 5000, New: 5001, Seen: fixedNow},
	}
	if !reflect.DeepEqual(got, wantAll) {
		t.Errorf("Conflicts(power) = %+v, want %+v", got, wantAll)
	}
	if got, _ := db.Conflicts("other"); len(got) != 0 {
		t.Errorf("Conflicts(other) = %v, want none", got)
	}
	if all, _ := db.Conflicts(""); len(all) != 2 {
		t.Errorf("Conflicts(\"\") = %v, want both", all)
	}
}

func TestAddReadingsRejected(t *testing.T) {
	db := mustOpen(t)
	good := mr("m", day(2026, 1, 1), 1)
	bad := []struct {
		r      processing.MeterReading
		reason string
	}{
		{mr("", day(2026, 1, 1), 1), "empty meter"},
		{mr(strings.Repeat("x", storage.MaxKeyLen+1), day(2026, 1, 1), 1), "longer than"},
		{mr("m", time.Time{}, 1), "zero time"},
		{mr("m", time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), 1), "outside"},
		{mr("m", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), 1), "outside"},
		{mr("m", day(2026, 1, 2), math.NaN()), "NaN"},
		{mr("m", day(2026, 1, 3), math.Inf(-1)), "infinite"},
	}
	batch := []processing.MeterReading{good}
	for _, b := range bad {
		batch = append(batch, b.r)
	}
	res := mustAdd(t, db, batch...)
	if res.Added != 1 || len(res.Rejected) != len(bad) {
		t.Fatalf("AddReadings = %+v, want 1 added, %d rejected", res, len(bad))
	}
	for i, b := range bad {
		if !strings.Contains(res.Rejected[i].Reason, b.reason) {
			t.Errorf("rejected[%d].Reason = %q, want it to mention %q", i, res.Rejected[i].Reason, b.reason)
		}
	}
	// Nothing is lost: each rejected reading is a dead letter.
	dls, err := db.DeadLetters(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(dls), len(bad))
	}
	for _, d := range dls {
		if d.Source != "storage" || d.Reason == "" || len(d.Payload) == 0 {
			t.Errorf("dead letter %+v: want source storage, a reason and the reading", d)
		}
	}
	// Newest first: the infinite reading, then the NaN one.
	if !strings.Contains(string(dls[1].Payload), `"value":"NaN"`) {
		t.Errorf("dead letter of the NaN reading = %s, want the value kept", dls[1].Payload)
	}
}

func TestReadingsRange(t *testing.T) {
	db := mustOpen(t)
	var rs []processing.MeterReading
	for h := range 48 {
		rs = append(rs, mr("m", day(2026, 5, 1).Add(time.Duration(h)*time.Hour), float64(h)))
	}
	// Stored out of order: queries must still come back sorted.
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	mustAdd(t, db, rs...)

	hour := func(h int) time.Time { return day(2026, 5, 1).Add(time.Duration(h) * time.Hour) }
	cases := []struct {
		name     string
		from, to time.Time
		first    int
		n        int
	}{
		{"all", time.Time{}, time.Time{}, 0, 48},
		{"from is inclusive, to exclusive", hour(10), hour(20), 10, 10},
		{"open end", hour(40), time.Time{}, 40, 8},
		{"open start", time.Time{}, hour(3), 0, 3},
		{"between readings", hour(10).Add(time.Minute), hour(11).Add(time.Minute), 11, 1},
		{"empty", hour(10), hour(10), 0, 0},
		{"reversed", hour(20), hour(10), 0, 0},
		{"before all", day(1900, 1, 1), day(2000, 1, 1), 0, 0},
		{"bounds outside int64 nanoseconds", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 0, 48},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Readings("m", tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n {
				t.Fatalf("Readings(%v, %v) = %d readings, want %d", tc.from, tc.to, len(got), tc.n)
			}
			for i, r := range got {
				if want := hour(tc.first + i); !r.Time.Equal(want) || r.Value != float64(tc.first+i) {
					t.Errorf("reading %d = %v, want %v at %v", i, r, tc.first+i, want)
				}
			}
		})
	}
	if got, err := db.Readings("unknown", time.Time{}, time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("Readings(unknown) = %v, %v; want none", got, err)
	}
	n, err := db.CountReadingsSince("m", hour(45))
	if err != nil || n != 3 {
		t.Errorf("CountReadingsSince(hour 45) = %d, %v; want 3", n, err)
	}
}

// Keys flip the sign bit so that readings before 1970 sort before later ones;
// a plain big-endian int64 would put them after.
func TestReadingsBefore1970(t *testing.T) {
	db := mustOpen(t)
	times := []time.Time{
		time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(0, 0).UTC(),
		time.Unix(0, 1).UTC(),
		time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := len(times) - 1; i >= 0; i-- {
		mustAdd(t, db, mr("m", times[i], float64(i)))
	}
	got, err := db.Readings("m", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(times) {
		t.Fatalf("got %d readings, want %d", len(got), len(times))
	}
	for i, r := range got {
		if !r.Time.Equal(times[i]) || r.Value != float64(i) {
			t.Errorf("reading %d = %v, want %v at %v", i, r, i, times[i])
		}
	}
	if got, _ := db.Readings("m", time.Time{}, time.Unix(0, 0)); len(got) != 2 {
		t.Errorf("Readings before the epoch = %v, want the 2 earlier ones", got)
	}
}

// On the autumn DST change 02:30 happens twice in Berlin: two instants, two
// readings. They come back in UTC, an hour apart.
func TestReadingsDST(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	db := mustOpen(t)
	first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC) // 02:30 CEST
	second := first.Add(time.Hour)                          // 02:30 CET
	if a, b := first.In(berlin).Format("15:04"), second.In(berlin).Format("15:04"); a != "02:30" || b != "02:30" {
		t.Fatalf("test premise: local times %s and %s, want 02:30 twice", a, b)
	}
	res := mustAdd(t, db, mr("m", first.In(berlin), 1), mr("m", second.In(berlin), 2))
	if res.Added != 2 {
		t.Fatalf("AddReadings = %+v, want both added", res)
	}
	got, err := db.Readings("m", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []processing.Reading{rd(first, 1), rd(second, 2)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Readings = %v, want %v", got, want)
	}
}

func TestAllReadingsAndStats(t *testing.T) {
	db := mustOpen(t)
	mustAdd(t, db,
		mr("b", day(2026, 1, 2), 20), mr("a", day(2026, 1, 1), 1),
		mr("b", day(2026, 1, 1), 10), mr("a", day(2026, 1, 3), 3), mr("a", day(2026, 1, 2), 2))
	all, err := db.AllReadings()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]processing.Reading{
		"a": {rd(day(2026, 1, 1), 1), rd(day(2026, 1, 2), 2), rd(day(2026, 1, 3), 3)},
		"b": {rd(day(2026, 1, 1), 10), rd(day(2026, 1, 2), 20)},
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("AllReadings() = %v, want %v", all, want)
	}
	stats, err := db.MeterStats()
	if err != nil {
		t.Fatal(err)
	}
	wantStats := []storage.MeterStat{
		{Meter: "a", Count: 3, First: processing.Reading{Time: day(2026, 1, 1), Value: 1}, Last: processing.Reading{Time: day(2026, 1, 3), Value: 3}},
		{Meter: "b", Count: 2, First: processing.Reading{Time: day(2026, 1, 1), Value: 10}, Last: processing.Reading{Time: day(2026, 1, 2), Value: 20}},
	}
	if !reflect.DeepEqual(stats, wantStats) {
		t.Errorf("MeterStats() = %+v, want %+v", stats, wantStats)
	}
}

func TestPersistAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := storage.Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, db, mr("m", day(2026, 1, 1), 1), mr("m", day(2026, 1, 2), 2))
	if err := db.SetState("cursor", []byte("42")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenPath(t, path, testOptions())
	got, err := db.Readings("m", time.Time{}, time.Time{})
	if err != nil || len(got) != 2 {
		t.Errorf("after reopen: Readings = %v, %v; want 2", got, err)
	}
	if v, ok, err := db.State("cursor"); err != nil || !ok || string(v) != "42" {
		t.Errorf("after reopen: State(cursor) = %q, %v, %v; want 42", v, ok, err)
	}
}

func TestDeleteReadingsBefore(t *testing.T) {
	db := mustOpen(t)
	for _, m := range []string{"a", "b"} {
		for d := 1; d <= 10; d++ {
			mustAdd(t, db, mr(m, day(2026, 1, d), float64(d)))
		}
	}
	mustAdd(t, db, mr("old", day(2020, 1, 1), 1))
	mustAdd(t, db, mr("a", day(2026, 1, 2), 99), mr("a", day(2026, 1, 8), 99)) // two conflicts
	if err := db.PutResult("a", storage.StoredResult{Unit: "m3"}); err != nil {
		t.Fatal(err)
	}

	n, err := db.DeleteReadingsBefore("a", day(2026, 1, 5))
	if err != nil || n != 4 {
		t.Fatalf("DeleteReadingsBefore(a, Jan 5) = %d, %v; want 4", n, err)
	}
	if got, _ := db.Readings("a", time.Time{}, time.Time{}); len(got) != 6 || !got[0].Time.Equal(day(2026, 1, 5)) {
		t.Errorf("a after retention = %v, want Jan 5..10", got)
	}
	if got, _ := db.Readings("b", time.Time{}, time.Time{}); len(got) != 10 {
		t.Errorf("b after retention of a = %d readings, want 10 untouched", len(got))
	}
	if cs, _ := db.Conflicts("a"); len(cs) != 1 || !cs[0].Time.Equal(day(2026, 1, 8)) {
		t.Errorf("conflicts of a after retention = %+v, want only the Jan 8 one", cs)
	}

	// All meters; a meter left empty disappears.
	n, err = db.DeleteReadingsBefore("", day(2026, 1, 7))
	if err != nil || n != 2+6+1 {
		t.Fatalf("DeleteReadingsBefore(all, Jan 7) = %d, %v; want 9", n, err)
	}
	stats, _ := db.MeterStats()
	if len(stats) != 2 || stats[0].Meter != "a" || stats[0].Count != 4 || stats[1].Count != 4 {
		t.Errorf("MeterStats after retention = %+v, want a and b with 4 each", stats)
	}
	if _, ok, _ := db.Result("a"); !ok {
		t.Error("retention removed the computed result; it must keep what was derived")
	}
}

func TestAddReadingsFull(t *testing.T) {
	opt := testOptions()
	opt.MaxSizeBytes = 1 << 20
	db := mustOpenPath(t, filepath.Join(t.TempDir(), "small.db"), opt)
	batch := func(i int) []processing.MeterReading {
		rs := make([]processing.MeterReading, 1000)
		for j := range rs {
			n := i*1000 + j
			rs[j] = mr("m", day(2026, 1, 1).Add(time.Duration(n)*time.Minute), float64(n))
		}
		return rs
	}
	var (
		err    error
		stored int
	)
	for i := 0; i < 1000 && err == nil; i++ {
		var res storage.AddResult
		res, err = db.AddReadings(batch(i))
		stored += res.Added
	}
	if !errors.Is(err, storage.ErrFull) {
		t.Fatalf("adding until full: %v, want ErrFull", err)
	}
	if stored < 10000 {
		t.Errorf("ErrFull after %d readings; 1 MiB holds far more", stored)
	}
	// The refused batch wrote nothing; what was stored is intact.
	if n, _ := db.CountReadingsSince("m", time.Time{}); n != stored {
		t.Errorf("%d readings stored, want %d", n, stored)
	}
	// Retention makes room again without compaction.
	if _, err := db.DeleteReadingsBefore("m", day(2027, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddReadings(batch(0)); err != nil {
		t.Errorf("AddReadings after retention = %v, want room again", err)
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s: %v", name, err)
	}
	return loc
}

// Any reading is either stored and read back exactly, or rejected with a
// reason; storing it again is a duplicate. AddReadings never fails on input.
func FuzzAddReadings(f *testing.F) {
	f.Add("gas", int64(0), 1.5)
	f.Add("", int64(-1), math.NaN())
	f.Add("m\x00/x", int64(math.MinInt64), math.Inf(1))
	f.Add("water", int64(math.MaxInt64), -0.0)
	db := mustOpen(f)
	f.Fuzz(func(t *testing.T, meter string, ns int64, v float64) {
		at := time.Unix(0, ns)
		res, err := db.AddReadings([]processing.MeterReading{mr(meter, at, v)})
		if err != nil {
			t.Fatalf("AddReadings(%q, %d, %v) = %v", meter, ns, v, err)
		}
		if len(res.Rejected) == 1 {
			if res.Rejected[0].Reason == "" {
				t.Error("rejected without a reason")
			}
			return
		}
		if res.Added+res.Duplicates+len(res.Conflicts) != 1 {
			t.Fatalf("AddReadings = %+v, want exactly one outcome", res)
		}
		got, err := db.Readings(meter, at, at.Add(1))
		if err != nil || len(got) != 1 || !got[0].Time.Equal(at) {
			t.Fatalf("Readings(%q) at %d = %v, %v", meter, ns, got, err)
		}
		if len(res.Conflicts) == 0 && math.Float64bits(got[0].Value) != math.Float64bits(v) && got[0].Value != v {
			t.Errorf("stored %v, read %v", v, got[0].Value)
		}
		if again, _ := db.AddReadings([]processing.MeterReading{mr(meter, at, got[0].Value)}); again.Duplicates != 1 {
			t.Errorf("adding the stored reading again = %+v, want a duplicate", again)
		}
	})
}
