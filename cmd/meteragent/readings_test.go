package main

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
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
