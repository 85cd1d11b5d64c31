package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// readingsHeader is the header a readings CSV must start with (columns may
// come in any order).
const readingsHeader = "meter_id,timestamp,value"

// maxLineLen bounds one line of a readings CSV; anything longer is not a reading.
const maxLineLen = 64 << 10

// readingsInput is what readReadings needs to know about the house.
type readingsInput struct {
	name  string                     // file name used in error messages
	loc   *time.Location             // zone of timestamps without an offset
	kinds map[string]processing.Kind // every meter of the config by id
}

// readReadings reads a CSV of meter_id,timestamp,value lines and returns the
// readings of each physical meter sorted by time. A reading repeated with the
// same value is dropped; every other problem stops the read with an error
// "NAME:LINE: what is wrong", so that no reading is lost silently.
//
// Timestamps are RFC 3339 (with Z or an offset), or YYYY-MM-DD HH:MM:SS,
// YYYY-MM-DDTHH:MM:SS and YYYY-MM-DD, which are read in in.loc. A local time
// that does not exist or occurs twice at a DST change is resolved the way
// time.Date does.
func readReadings(r io.Reader, in readingsInput) (map[string][]processing.Reading, error) {
	p := readingsParser{in: in, meters: make(map[string]*meterLines)}
	if err := p.read(r); err != nil {
		return nil, err
	}
	return p.finish()
}

type lineReading struct {
	r    processing.Reading
	line int
}

type meterLines struct {
	rs     []lineReading
	sorted bool
}

type readingsParser struct {
	in     readingsInput
	meters map[string]*meterLines
	cols   [3]int // position of meter_id, timestamp, value in a line
}

func (p *readingsParser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.in.name, line, fmt.Sprintf(format, args...))
}

func (p *readingsParser) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineLen)
	var fields [3][]byte
	line, header := 0, false
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		n := splitFields(b, &fields)
		if !header {
			if err := p.parseHeader(line, b, n, &fields); err != nil {
				return err
			}
			header = true
			continue
		}
		if n != 3 {
			return p.errorf(line, "%d columns, want 3 (%s)", n, readingsHeader)
		}
		if err := p.parseLine(line, fields[p.cols[0]], fields[p.cols[1]], fields[p.cols[2]]); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return p.errorf(line+1, "line longer than %d bytes", maxLineLen)
		}
		return fmt.Errorf("%s: %w", p.in.name, err)
	}
	if !header {
		return fmt.Errorf("%s: empty file, want a header line %q", p.in.name, readingsHeader)
	}
	return nil
}

// splitFields splits a line at commas into at most three trimmed, unquoted
// fields and returns how many fields the line has.
func splitFields(b []byte, f *[3][]byte) int {
	n := 0
	for {
		i := bytes.IndexByte(b, ',')
		field := b
		if i >= 0 {
			field = b[:i]
		}
		if n < 3 {
			field = bytes.TrimSpace(field)
			if len(field) >= 2 && field[0] == '"' && field[len(field)-1] == '"' {
				field = field[1 : len(field)-1]
			}
			f[n] = field
		}
		n++
		if i < 0 {
			return n
		}
		b = b[i+1:]
	}
}

func (p *readingsParser) parseHeader(line int, b []byte, n int, f *[3][]byte) error {
	bad := func() error {
		return p.errorf(line, "header is %q, want %q", b, readingsHeader)
	}
	if n != 3 {
		return bad()
	}
	seen := [3]bool{}
	for i := range 3 {
		var c int
		switch strings.ToLower(string(f[i])) {
		case "meter_id":
			c = 0
		case "timestamp":
			c = 1
		case "value":
			c = 2
		default:
			return bad()
		}
		if seen[c] {
			return bad()
		}
		seen[c] = true
		p.cols[c] = i
	}
	return nil
}

func (p *readingsParser) parseLine(line int, id, ts, val []byte) error {
	m := p.meters[string(id)]
	if m == nil {
		if len(id) == 0 {
			return p.errorf(line, "empty meter_id")
		}
		switch k, ok := p.in.kinds[string(id)]; {
		case !ok:
			return p.errorf(line, "unknown meter %q: not a meter of the config", id)
		case k != processing.Physical:
			return p.errorf(line, "meter %q is a %s meter: readings must name a physical meter", id, k)
		}
		m = &meterLines{sorted: true}
		p.meters[string(id)] = m
	}
	t, ok := parseTimestamp(ts, p.in.loc)
	if !ok {
		return p.errorf(line, "bad timestamp %q: want RFC 3339 or YYYY-MM-DD HH:MM:SS", ts)
	}
	v, ok := parseValue(val)
	if !ok {
		if len(val) == 0 {
			return p.errorf(line, "empty value")
		}
		if f, err := strconv.ParseFloat(string(val), 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return p.errorf(line, "value %q is not a finite number", val)
		}
		return p.errorf(line, "value %q is not a number", val)
	}
	if n := len(m.rs); n > 0 && t.Before(m.rs[n-1].r.Time) {
		m.sorted = false
	}
	m.rs = append(m.rs, lineReading{r: processing.Reading{Time: t, Value: v}, line: line})
	return nil
}

// finish sorts each meter's readings, drops exact repeats and rejects two
// different values at one instant.
func (p *readingsParser) finish() (map[string][]processing.Reading, error) {
	out := make(map[string][]processing.Reading, len(p.meters))
	// Report conflicts in file order whatever the map order.
	var firstErr error
	firstLine := 0
	for id, m := range p.meters {
		if !m.sorted {
			slices.SortStableFunc(m.rs, func(a, b lineReading) int { return a.r.Time.Compare(b.r.Time) })
		}
		rs := make([]processing.Reading, 0, len(m.rs))
		for i, lr := range m.rs {
			if i > 0 {
				prev := m.rs[i-1]
				if prev.r.Time.Equal(lr.r.Time) {
					if prev.r.Value == lr.r.Value {
						continue
					}
					a, b := prev, lr
					if b.line < a.line {
						a, b = b, a
					}
					if firstErr == nil || b.line < firstLine {
						firstLine = b.line
						firstErr = p.errorf(b.line, "meter %q has two values at %s: %s here, %s on line %d",
							id, lr.r.Time.Format(time.RFC3339Nano), formatValue(b.r.Value), formatValue(a.r.Value), a.line)
					}
					break
				}
			}
			rs = append(rs, lr.r)
		}
		out[id] = rs
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseValue parses a decimal number. Plain decimals with at most 15 digits
// take a fast path that is exact: the digits and the power of ten are both
// exact float64s, so the one division rounds correctly (strconv's own fast
// path). Anything else goes to strconv. NaN and infinities are rejected.
func parseValue(b []byte) (float64, bool) {
	s := b
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	fast := len(s) > 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			fast = false
		}
		if !fast || digits > 15 {
			fast = false
			break
		}
	}
	if fast && digits > 0 {
		v := float64(mant) / pow10[frac]
		if neg {
			v = -v
		}
		return v, true
	}
	if len(b) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// parseTimestamp hand-parses the common shapes (they are most of the
// command's time) and falls back to time.Parse for the rest of RFC 3339.
func parseTimestamp(b []byte, loc *time.Location) (time.Time, bool) {
	if t, ok := parseTimestampFast(b, loc); ok {
		return t, true
	}
	s := string(b)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.In(loc), true
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseTimestampFast handles YYYY-MM-DD and YYYY-MM-DD[T ]HH:MM:SS followed by
// nothing, Z or ±HH:MM.
func parseTimestampFast(b []byte, loc *time.Location) (time.Time, bool) {
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(time.Month(mo), y) {
		return time.Time{}, false
	}
	if len(b) == 10 {
		return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, loc), true
	}
	if len(b) < 19 || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	h, ok1 := num(b[11:13])
	mi, ok2 := num(b[14:16])
	sec, ok3 := num(b[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := b[19:]
	switch {
	case len(rest) == 0:
		return time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc), true
	case len(rest) == 1 && rest[0] == 'Z':
		return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC).In(loc), true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		off := time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
		if rest[0] == '-' {
			off = -off
		}
		return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC).Add(-off).In(loc), true
	}
	return time.Time{}, false
}

func num(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// meterIDs returns the keys of m sorted, for stable output.
func meterIDs[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, cmp.Compare)
	return ids
}
