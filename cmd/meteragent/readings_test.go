package main

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/meteragent/meteragent/processing"
)

var testKinds = map[string]processing.Kind{
	"gas":    processing.Physical,
	"strom":  processing.Physical,
	"total":  processing.Master,
	"virt":   processing.Virtual,
	"wasser": processing.Physical,
}

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestReadReadings(t *testing.T) {
	loc := berlin(t)
	at := func(y int, m time.Month, d, h, mi, s int) time.Time { return time.Date(y, m, d, h, mi, s, 0, loc) }
	tests := []struct {
		name string
		in   string
		want map[string][]processing.Reading
	}{
		{
			name: "shapes",
			in: "meter_id,timestamp,value\n" +
				"gas,2024-01-02T10:00:00+01:00,10.5\n" +
				"gas,2024-01-03T09:00:00Z,11\n" + // 10:00 in Berlin
				"gas,2024-07-01 08:30:00,12.25\n" + // local, summer time
				"gas,2024-07-02T08:30:00,13\n" +
				"gas,2024-07-03,14\n" +
				"gas,2024-07-04T10:00:00.5+02:00,15\n" +
				"gas,2024-07-05 10:00,16\n",
			want: map[string][]processing.Reading{"gas": {
				{Time: at(2024, 1, 2, 10, 0, 0), Value: 10.5},
				{Time: at(2024, 1, 3, 10, 0, 0), Value: 11},
				{Time: at(2024, 7, 1, 8, 30, 0), Value: 12.25},
				{Time: at(2024, 7, 2, 8, 30, 0), Value: 13},
				{Time: at(2024, 7, 3, 0, 0, 0), Value: 14},
				{Time: at(2024, 7, 4, 10, 0, 0).Add(500 * time.Millisecond), Value: 15},
				{Time: at(2024, 7, 5, 10, 0, 0), Value: 16},
			}},
		},
		{
			name: "BOM, CRLF, blank lines, spaces, quotes, column order, unsorted, exact repeat",
			in: "\xef\xbb\xbfTimestamp, Value ,meter_id\r\n" +
				"\r\n" +
				"2024-03-02 12:00:00,2,strom\r\n" +
				"   \r\n" +
				"\"2024-03-01 12:00:00\",\"1\",\"strom\"\r\n" +
				"2024-03-02 12:00:00,2,strom\r\n" +
				"2024-03-01 12:00:00, 7 ,wasser\r\n",
			want: map[string][]processing.Reading{
				"strom":  {{Time: at(2024, 3, 1, 12, 0, 0), Value: 1}, {Time: at(2024, 3, 2, 12, 0, 0), Value: 2}},
				"wasser": {{Time: at(2024, 3, 1, 12, 0, 0), Value: 7}},
			},
		},
		{
			// The same instant written in two zones is one reading.
			name: "same instant, two spellings",
			in:   "meter_id,timestamp,value\nstrom,2024-03-01T11:00:00Z,5\nstrom,2024-03-01 12:00:00,5\n",
			want: map[string][]processing.Reading{"strom": {{Time: at(2024, 3, 1, 12, 0, 0), Value: 5}}},
		},
		{
			name: "numbers",
			in: "meter_id,timestamp,value\n" +
				"strom,2024-01-01,0\nstrom,2024-01-02,-1.5\nstrom,2024-01-03,+2.\nstrom,2024-01-04,.25\n" +
				"strom,2024-01-05,1e3\nstrom,2024-01-06,12345678901234567890.5\nstrom,2024-01-07,0.1\n",
			want: map[string][]processing.Reading{"strom": {
				{Time: at(2024, 1, 1, 0, 0, 0), Value: 0},
				{Time: at(2024, 1, 2, 0, 0, 0), Value: -1.5},
				{Time: at(2024, 1, 3, 0, 0, 0), Value: 2},
				{Time: at(2024, 1, 4, 0, 0, 0), Value: 0.25},
				{Time: at(2024, 1, 5, 0, 0, 0), Value: 1000},
				{Time: at(2024, 1, 6, 0, 0, 0), Value: 12345678901234567890.5},
				{Time: at(2024, 1, 7, 0, 0, 0), Value: 0.1},
			}},
		},
		{name: "header only", in: "meter_id,timestamp,value\n", want: map[string][]processing.Reading{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReadings(strings.NewReader(tt.in), readingsInput{name: "r.csv", loc: loc, kinds: testKinds})
			if err != nil {
				t.Fatalf("readReadings: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got meters %v, want %v", meterIDs(got), meterIDs(tt.want))
			}
			for id, want := range tt.want {
				rs := got[id]
				if len(rs) != len(want) {
					t.Fatalf("%s: got %d readings %v, want %d %v", id, len(rs), rs, len(want), want)
				}
				for i := range want {
					if !rs[i].Time.Equal(want[i].Time) || rs[i].Value != want[i].Value {
						t.Errorf("%s[%d] = %v %v, want %v %v", id, i, rs[i].Time, rs[i].Value, want[i].Time, want[i].Value)
					}
				}
			}
		})
	}
}

func TestReadReadingsErrors(t *testing.T) {
	const h = "meter_id,timestamp,value\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `r.csv: empty file, want a header line "meter_id,timestamp,value"`},
		{"only blank", "\n  \n", `r.csv: empty file, want a header line "meter_id,timestamp,value"`},
		{"no header", "gas,2024-01-01,1\n", `r.csv:1: header is "gas,2024-01-01,1", want "meter_id,timestamp,value"`},
		{"header twice a column", "meter_id,meter_id,value\n", `r.csv:1: header is "meter_id,meter_id,value", want "meter_id,timestamp,value"`},
		{"header short", "meter_id,timestamp\n", `r.csv:1: header is "meter_id,timestamp", want "meter_id,timestamp,value"`},
		{"too few columns", h + "gas,2024-01-01\n", `r.csv:2: 2 columns, want 3 (meter_id,timestamp,value)`},
		{"too many columns", h + "\ngas,2024-01-01,1,2\n", `r.csv:3: 4 columns, want 3 (meter_id,timestamp,value)`},
		{"unknown meter", h + "gas,2024-01-01,1\nstrom_xx,2024-01-01,1\n", `r.csv:3: unknown meter "strom_xx": not a meter of the config`},
		{"master meter", h + "total,2024-01-01,1\n", `r.csv:2: meter "total" is a master meter: readings must name a physical meter`},
		{"virtual meter", h + "virt,2024-01-01,1\n", `r.csv:2: meter "virt" is a virtual meter: readings must name a physical meter`},
		{"empty id", h + ",2024-01-01,1\n", `r.csv:2: empty meter_id`},
		{"bad date", h + "gas,2024-02-30,1\n", `r.csv:2: bad timestamp "2024-02-30": want RFC 3339 or YYYY-MM-DD HH:MM:SS`},
		{"bad hour", h + "gas,2024-02-03 24:00:00,1\n", `r.csv:2: bad timestamp "2024-02-03 24:00:00": want RFC 3339 or YYYY-MM-DD HH:MM:SS`},
		{"german date", h + "gas,03.02.2024,1\n", `r.csv:2: bad timestamp "03.02.2024": want RFC 3339 or YYYY-MM-DD HH:MM:SS`},
		{"bad offset", h + "gas,2024-02-03T10:00:00+25:00,1\n", `r.csv:2: bad timestamp "2024-02-03T10:00:00+25:00": want RFC 3339 or YYYY-MM-DD HH:MM:SS`},
		{"text value", h + "gas,2024-01-01,abc\n", `r.csv:2: value "abc" is not a number`},
		{"decimal comma", h + "gas,2024-01-01,\"12,5\"\n", `r.csv:2: 4 columns, want 3 (meter_id,timestamp,value)`},
		{"empty value", h + "gas,2024-01-01,\n", `r.csv:2: empty value`},
		{"NaN", h + "gas,2024-01-01,NaN\n", `r.csv:2: value "NaN" is not a finite number`},
		{"Inf", h + "gas,2024-01-01,-Inf\n", `r.csv:2: value "-Inf" is not a finite number`},
		{"overflow", h + "gas,2024-01-01,1e999\n", `r.csv:2: value "1e999" is not a number`},
		{
			"two values at one instant",
			h + "gas,2024-01-01T10:00:00+01:00,1\nstrom,2024-01-01,1\ngas,2024-01-01 10:00:00,2\n",
			`r.csv:4: meter "gas" has two values at 2024-01-01T10:00:00+01:00: 2 here, 1 on line 2`,
		},
		{
			// The first conflict in file order is reported, whatever the meter.
			"first conflict wins",
			h + "strom,2024-01-05,1\ngas,2024-01-01,1\ngas,2024-01-01,3\nstrom,2024-01-05,2\n",
			`r.csv:4: meter "gas" has two values at 2024-01-01T00:00:00+01:00: 3 here, 1 on line 3`,
		},
		{
			// Errors name the first bad line: a conflict before a line that
			// cannot be read is reported, not that line.
			"conflict before a bad line",
			h + "gas,2024-01-01,1\ngas,2024-01-01,2\nstrom,2024-01-01,1\ngas,yesterday,3\n",
			`r.csv:3: meter "gas" has two values at 2024-01-01T00:00:00+01:00: 2 here, 1 on line 2`,
		},
		{
			// A meter out of time order: its conflict on the earlier line
			// is reported, though a conflict at an earlier instant follows.
			"first conflict of an unsorted meter",
			h + "gas,2024-01-05,1\ngas,2024-01-05,2\ngas,2024-01-01,1\ngas,2024-01-02,1\ngas,2024-01-02,2\n",
			`r.csv:3: meter "gas" has two values at 2024-01-05T00:00:00+01:00: 2 here, 1 on line 2`,
		},
		{"long line", h + "gas,2024-01-01," + strings.Repeat("1", maxLineLen) + "\n", `r.csv:2: line longer than 65536 bytes`},
	}
	loc := berlin(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReadings(strings.NewReader(tt.in), readingsInput{name: "r.csv", loc: loc, kinds: testKinds})
			if err == nil {
				t.Fatalf("readReadings = %v, want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
			// The same error when the read begins before the config.
			for _, early := range []*time.Location{nil, loc} {
				got, err := readReadings(strings.NewReader(tt.in), beforeConfig("r.csv", early, loc, testKinds))
				if err == nil || err.Error() != tt.want {
					t.Errorf("read before the config (zone %v) = %v, %v; want error %q", early, got, err, tt.want)
				}
			}
		})
	}
}

// beforeConfig is the input of a read begun before the config is loaded,
// with the zone early known from the start (nil: not known); its config
// gives loc and kinds.
func beforeConfig(name string, early, loc *time.Location, kinds map[string]processing.Kind) readingsInput {
	return readingsInput{name: name, loc: early, config: func() (*time.Location, map[string]processing.Kind, bool) {
		return loc, kinds, true
	}}
}

// A read begun before the config checks the meter ids at the end and
// reports the first bad line, as a read that knew the config would have:
// an id the config does not allow competes with the line that stopped the
// read and with conflicts by line.
func TestReadReadingsBeforeConfigFirstBadLine(t *testing.T) {
	const h = "meter_id,timestamp,value\n"
	tests := []struct {
		name, in string
		tail     error // an error reading on after in, if not nil
		want     string
	}{
		{"unknown meter on its first line", h + "gas,2024-01-01,1\nxx,2024-01-02,1\ngas,2024-01-02,2\nxx,2024-01-03,1\n", nil,
			`r.csv:3: unknown meter "xx": not a meter of the config`},
		{"first of two bad meters", h + "gas,2024-01-01,1\ntotal,2024-01-02,1\nxx,2024-01-02,2\n", nil,
			`r.csv:3: meter "total" is a master meter: readings must name a physical meter`},
		{"unknown meter before a bad line", h + "gas,2024-01-01,1\nxx,2024-01-01,1\ngas,yesterday,1\n", nil,
			`r.csv:3: unknown meter "xx": not a meter of the config`},
		{"unknown meter after a bad line", h + "gas,2024-01-01,1\ngas,yesterday,1\nxx,2024-01-01,1\n", nil,
			`r.csv:3: bad timestamp "yesterday": want RFC 3339 or YYYY-MM-DD HH:MM:SS`},
		{"unknown meter and a bad value on one line", h + "xx,2024-01-01,abc\n", nil,
			`r.csv:2: unknown meter "xx": not a meter of the config`},
		{"unknown meter before an empty one", h + "xx,2024-01-01,1\n,2024-01-01,1\n", nil,
			`r.csv:2: unknown meter "xx": not a meter of the config`},
		{"unknown meter before a line too long", h + "xx,2024-01-01,1\ngas,2024-01-01," + strings.Repeat("1", maxLineLen) + "\n", nil,
			`r.csv:2: unknown meter "xx": not a meter of the config`},
		{"unknown meter before a read error", h + "gas,2024-01-01,1\nxx,2024-01-01,1\n", errors.New("disk on fire"),
			`r.csv:3: unknown meter "xx": not a meter of the config`},
		{"conflict before an unknown meter", h + "gas,2024-01-01,1\ngas,2024-01-01,2\nxx,2024-01-01,1\n", nil,
			`r.csv:3: meter "gas" has two values at 2024-01-01T00:00:00+01:00: 2 here, 1 on line 2`},
		{"unknown meter before a conflict", h + "gas,2024-01-01,1\nxx,2024-01-01,1\ngas,2024-01-01,2\n", nil,
			`r.csv:3: unknown meter "xx": not a meter of the config`},
		{"two values of an unknown meter", h + "xx,2024-01-01,1\nxx,2024-01-01,2\n", nil,
			`r.csv:2: unknown meter "xx": not a meter of the config`},
		{"conflict of an unsorted meter before an unknown meter", h + "gas,2024-01-02,1\ngas,2024-01-02,2\nxx,2024-01-01,1\ngas,2024-01-01,1\n", nil,
			`r.csv:3: meter "gas" has two values at 2024-01-02T00:00:00+01:00: 2 here, 1 on line 2`},
	}
	loc := berlin(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := func() io.Reader {
				if tt.tail != nil {
					return io.MultiReader(strings.NewReader(tt.in), iotest.ErrReader(tt.tail))
				}
				return strings.NewReader(tt.in)
			}
			// The config known from the start, as the other callers read.
			if _, err := readReadings(input(), readingsInput{name: "r.csv", loc: loc, kinds: testKinds}); err == nil || err.Error() != tt.want {
				t.Fatalf("with the config: error %v, want %q", err, tt.want)
			}
			for _, early := range []*time.Location{nil, loc} {
				got, err := readReadings(input(), beforeConfig("r.csv", early, loc, testKinds))
				if err == nil || err.Error() != tt.want {
					t.Errorf("before the config (zone %v) = %v, %v; want error %q", early, got, err, tt.want)
				}
			}
		})
	}
}

// Times without an offset read before the config are in the config's zone,
// the readings before the first of them too (same instants, same location),
// unless the zone is known from the start (--timezone); times with an
// offset do not wait for the config until the end.
func TestReadReadingsBeforeConfigZone(t *testing.T) {
	const h = "meter_id,timestamp,value\n"
	berlin, ny := berlin(t), mustZone(t, "America/New_York")
	for _, tt := range []struct {
		in    string
		local bool // a time without an offset
	}{
		{h + "gas,2024-01-01T10:00:00Z,1\nstrom,2024-03-31T01:30:00+01:00,2\nstrom,2024-03-31 03:30:00,3\ngas,2024-07-01,4\ngas,2024-07-02T12:00:00-04:00,5\n", true},
		{h + "gas,2024-01-01T10:00:00Z,1\nstrom,2024-03-31T01:30:00+01:00,2\ngas,2024-07-02T12:00:00-04:00,5\n", false},
		{h + "gas,2024-10-27 02:30:00,1\ngas,2024-10-28,2\n", true}, // a time that occurs twice: as time.Date resolves it
	} {
		in := tt.in
		for _, zones := range [][2]*time.Location{{nil, berlin}, {ny, berlin}, {berlin, berlin}} {
			early, cfg := zones[0], zones[1]
			known := early
			if known == nil {
				known = cfg
			}
			want, wantErr := readReadings(strings.NewReader(in), readingsInput{name: "r.csv", loc: known, kinds: testKinds})
			if wantErr != nil {
				t.Fatal(wantErr)
			}
			asked := 0
			ri := readingsInput{name: "r.csv", loc: early, config: func() (*time.Location, map[string]processing.Kind, bool) {
				asked++
				return cfg, testKinds, true
			}}
			got, gotErr := readReadings(strings.NewReader(in), ri)
			if d := sameReadings(got, want, gotErr, wantErr); d != "" {
				t.Errorf("zone %v, config's %v, input %q: %s", early, cfg, in, d)
			}
			for id, rs := range got {
				for _, r := range rs {
					if r.Time.Location() != known {
						t.Errorf("%s %v in %v, want %v", id, r.Time, r.Time.Location(), known)
					}
				}
			}
			// Asked at the end, and once before if a time needs the zone.
			wantAsked := 1
			if early == nil && tt.local {
				wantAsked = 2
			}
			if asked != wantAsked {
				t.Errorf("zone %v, input %q: config asked %d times, want %d", early, in, asked, wantAsked)
			}
		}
	}
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// withOffsets writes the timestamps of the first n readings of a
// randomReadings input with the offset they have in loc.
func withOffsets(in string, n int, loc *time.Location) string {
	lines := strings.Split(in, "\n")
	for i := 1; i < len(lines) && i <= n; i++ {
		f := strings.Split(lines[i], ",")
		if len(f) != 3 {
			continue
		}
		if t, err := time.ParseInLocation("2006-01-02 15:04:05", f[1], loc); err == nil {
			lines[i] = f[0] + "," + t.Format(time.RFC3339) + "," + f[2]
		}
	}
	return strings.Join(lines, "\n")
}

// A read begun before the config gives what the reference gives with the
// config, on random inputs: with wasser unknown to the config, with the zone
// known from the start or not, and with offsets on the first lines (the zone
// is then learned in the middle of the read, or at the end).
func TestReadReadingsBeforeConfigMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	loc := berlin(t)
	kinds := maps.Clone(testKinds)
	delete(kinds, "wasser")
	for i := range 10000 {
		in := withOffsets(randomReadings(rng), rng.IntN(70), loc)
		want, wantErr := refReadReadings(strings.NewReader(in), readingsInput{name: "f.csv", loc: loc, kinds: kinds})
		var early *time.Location
		if i%3 == 0 {
			early = loc
		}
		got, gotErr := readReadings(strings.NewReader(in), beforeConfig("f.csv", early, loc, kinds))
		if d := sameReadings(got, want, gotErr, wantErr); d != "" {
			t.Fatalf("zone %v, input %q: %s", early, in, d)
		}
	}
}

func FuzzReadReadingsBeforeConfig(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 30 {
		f.Add(withOffsets(randomReadings(rng), rng.IntN(70), time.UTC), rng.IntN(2) == 0)
	}
	f.Add("meter_id,timestamp,value\nxx,2024-01-01,1\ngas,yesterday,1\n", false)
	loc := berlin(f)
	f.Fuzz(func(t *testing.T, in string, early bool) {
		want, wantErr := readReadings(strings.NewReader(in), readingsInput{name: "f.csv", loc: loc, kinds: testKinds})
		ri := beforeConfig("f.csv", nil, loc, testKinds)
		if early {
			ri.loc = loc
		}
		got, gotErr := readReadings(strings.NewReader(in), ri)
		if d := sameReadings(got, want, gotErr, wantErr); d != "" {
			t.Fatalf("input %q: %s", in, d)
		}
	})
}

// readReadingsAhead reads in its own goroutine what readReadingsFile reads,
// the config given while it reads; the open error too. Told that the config
// failed, a reader waiting for the zone ends.
func TestReadReadingsAhead(t *testing.T) {
	loc := berlin(t)
	dir := t.TempDir()
	local := filepath.Join(dir, "local.csv")
	if err := os.WriteFile(local, []byte("meter_id,timestamp,value\ngas,2024-01-01T10:00:00Z,1\ngas,2024-01-02 10:00:00,2\nxx,2024-01-03,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	demo := filepath.Join(demoDir, "readings.csv")
	cfg, house := demoHouse(t)
	for _, tt := range []struct {
		file  string
		early *time.Location
		kinds map[string]processing.Kind
	}{
		{demo, nil, readingKinds(cfg, house)},
		{demo, loc, readingKinds(cfg, house)},
		{local, nil, testKinds},
		{local, nil, map[string]processing.Kind{"gas": processing.Physical, "xx": processing.Physical}},
		{filepath.Join(dir, "missing.csv"), nil, testKinds},
	} {
		var want map[string][]processing.Reading
		wantErr := error(nil)
		if f, err := os.Open(tt.file); err != nil {
			wantErr = err
		} else {
			want, wantErr = readReadingsFile(f, readingsInput{name: tt.file, loc: loc, kinds: tt.kinds})
			f.Close()
		}
		a := readReadingsAhead(tt.file, tt.early)
		time.Sleep(time.Millisecond) // the config loads
		got, gotErr := a.wait(loc, tt.kinds)
		a.stop() // after wait: nothing
		if d := sameReadings(got, want, gotErr, wantErr); d != "" {
			t.Errorf("%s, zone %v: %s", tt.file, tt.early, d)
		}
	}

	a := readReadingsAhead(local, nil)
	a.stop()
	select {
	case <-a.done:
		if a.err != errNoConfig {
			t.Errorf("error %v after the config failed, want %v", a.err, errNoConfig)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reader still waiting for the zone after the config failed")
	}
}

// The process command reads the readings while it loads the config, but
// reports a config error, or a flag's, before a problem with the readings.
func TestProcessConfigErrorFirst(t *testing.T) {
	badConfig := demoConfigDir(t, func(name string, b []byte) []byte {
		if name == "meters.yaml" {
			b = bytes.Replace(b, []byte(`installation_date: "2022-01-01"`), []byte(`installation_date: "2022-13-01"`), 1)
		}
		return b
	})
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("meter_id,timestamp,value\nkeller,2024-01-01,1\neg_strom,gestern,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.csv")
	tests := []struct {
		name      string
		config    string
		readings  string
		extra     []string
		code      int
		want, not string
	}{
		{"config error, bad readings", badConfig, bad, nil, exitFailure, "meters.yaml:", "bad.csv"},
		{"config error, no readings", badConfig, missing, nil, exitFailure, "meters.yaml:", "missing.csv"},
		{"bad zone, bad readings", demoDir, bad, []string{"--timezone", "Mars/Olympus"}, exitUsage, `--timezone "Mars/Olympus": unknown time zone`, "bad.csv"},
		{"bad to, no readings", demoDir, missing, []string{"--to", "tomorrow"}, exitUsage, `--to "tomorrow": want a date YYYY-MM-DD`, "missing.csv"},
		{"bad readings", demoDir, bad, nil, exitFailure, bad + `:2: unknown meter "keller": not a meter of the config`, "gestern"},
		{"no readings", demoDir, missing, nil, exitFailure, "open " + missing + ": no such file or directory", "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"process", "--config", tt.config, "--readings", tt.readings, "--out", out}, tt.extra...)
			code, _, stderr := runCmd(t, t.Context(), args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(stderr, tt.want) || strings.Contains(stderr, tt.not) {
				t.Errorf("stderr = %q, want it to contain %q and not %q", stderr, tt.want, tt.not)
			}
		})
	}
}

// parseValue's fast path must agree bit for bit with strconv.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"0", "-0", "1.5", "123456789012345", "1234567890123456", "0.000000000000000000001", "99999.999", ".5", "5.", "+3", "-", ".", "1e5", "0x1p3", "NaN", "inf", "1_0", "00012.3400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseValue([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		wantOK := err == nil && !math.IsNaN(want) && !math.IsInf(want, 0)
		if ok != wantOK {
			t.Fatalf("parseValue(%q) ok = %v, strconv err = %v (%v)", s, ok, err, want)
		}
		if ok && math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseValue(%q) = %v, strconv gives %v", s, got, want)
		}
	})
}

// The hand-written timestamp parser must agree with the time package.
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2024-01-01", "2024-02-29 10:00:00", "2023-02-29", "2024-03-31T02:30:00", "2024-10-27 02:30:00",
		"2024-01-01T00:00:00Z", "2024-06-01T23:59:59+14:00", "2024-06-01T23:59:59-09:30", "2024-13-01", "0000-01-01", "9999-12-31T23:59:59Z", "2024-01-01t10:00:00z"} {
		f.Add(s)
	}
	loc := berlin(f)
	f.Fuzz(func(t *testing.T, s string) {
		at, ok := parseTimestampFast([]byte(s), loc)
		if !ok {
			return
		}
		got := time.Unix(at.sec, int64(at.nsec))
		var want time.Time
		var err error
		switch {
		case len(s) == 10:
			want, err = time.ParseInLocation("2006-01-02", s, loc)
		case len(s) == 19:
			want, err = time.ParseInLocation("2006-01-02T15:04:05", strings.Replace(strings.Replace(s, " ", "T", 1), "t", "T", 1), loc)
		default:
			want, err = time.Parse(time.RFC3339, strings.Replace(strings.Replace(s, " ", "T", 1), "t", "T", 1))
		}
		if err != nil {
			t.Fatalf("parseTimestampFast(%q) = %v, but the time package rejects it: %v", s, got, err)
		}
		if !got.Equal(want) {
			t.Fatalf("parseTimestampFast(%q) = %v, time package gives %v", s, got, want)
		}
	})
}

// FuzzReadReadings checks that any input either fails with a located error or
// yields sorted, finite, unique readings of physical meters only.
func FuzzReadReadings(f *testing.F) {
	f.Add("meter_id,timestamp,value\ngas,2024-01-01T10:00:00+01:00,1.5\ngas,2024-01-01,1\n")
	f.Add("meter_id,timestamp,value\r\nstrom,2024-01-01 10:00:00,1\r\nstrom,2024-01-01 10:00:00,1\r\n")
	f.Add("value,meter_id,timestamp\n1,wasser,2024-01-01\n2,wasser,2024-01-02\n")
	f.Add("meter_id,timestamp,value\ntotal,2024-01-01,1\n")
	f.Add("\xef\xbb\xbfmeter_id,timestamp,value\n\"gas\",\"2024-01-01\",\"1\"\n")
	f.Add("meter_id,timestamp,value\ngas,2024-01-01,1\ngas,2024-01-01,2\n")
	loc := berlin(f)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readReadings(strings.NewReader(in), readingsInput{name: "f.csv", loc: loc, kinds: testKinds})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv:") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for id, rs := range got {
			if testKinds[id] != processing.Physical {
				t.Fatalf("readings for non-physical meter %q", id)
			}
			for i, r := range rs {
				if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
					t.Fatalf("%s[%d] = %v", id, i, r.Value)
				}
				if i > 0 && !rs[i-1].Time.Before(r.Time) {
					t.Fatalf("%s: readings %d and %d not strictly increasing: %v, %v", id, i-1, i, rs[i-1].Time, r.Time)
				}
			}
		}
	})
}

func BenchmarkReadReadings(b *testing.B) {
	loc := berlin(b)
	var sb strings.Builder
	sb.WriteString("meter_id,timestamp,value\n")
	t0 := time.Date(2024, 11, 27, 0, 0, 0, 0, loc)
	for i := range 20000 {
		sb.WriteString("strom,")
		sb.WriteString(t0.Add(time.Duration(i) * time.Hour).Format(time.RFC3339))
		sb.WriteString(",")
		sb.WriteString(strconv.FormatFloat(float64(i)*0.731, 'f', 3, 64))
		sb.WriteString("\n")
	}
	in := sb.String()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readReadings(strings.NewReader(in), readingsInput{name: "b.csv", loc: loc, kinds: testKinds, size: int64(len(in))}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadReadingsDemo reads the demo house's readings: 22 meters
// interleaved in time order, one of them with 17,485 of the 19,276 readings.
func BenchmarkReadReadingsDemo(b *testing.B) {
	in, ri := demoReadingsInput(b)
	ri.size = int64(len(in))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readReadings(bytes.NewReader(in), ri); err != nil {
			b.Fatal(err)
		}
	}
}
