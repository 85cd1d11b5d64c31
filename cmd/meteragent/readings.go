package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
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
	size  int64                      // size of the input in bytes if known, to size buffers
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
	p := readingsParser{in: in, meters: make(map[string]int32)}
	if in.size > 0 {
		// Lines are rarely shorter than 32 bytes; one allocation then holds
		// every reading.
		p.all = make([]lineReading, 0, min(in.size/32+16, 1<<24))
	}
	if err := p.read(r); err != nil {
		return nil, err
	}
	return p.finish()
}

// readReadingsFile is readReadings of an open file, whose size, when it is a
// regular file, sizes the reader's buffers.
func readReadingsFile(f *os.File, in readingsInput) (map[string][]processing.Reading, error) {
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		in.size = fi.Size()
	}
	return readReadings(f, in)
}

// instant is a point in time as Unix seconds and nanoseconds. The reader
// keeps readings in pointer-free records (time.Time holds a *Location), so
// growing the slices costs no write barriers and the GC need not scan them.
type instant struct {
	sec  int64
	nsec int32
}

func (a instant) compare(b instant) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	return cmp.Compare(a.nsec, b.nsec)
}

func instantOf(t time.Time) instant { return instant{t.Unix(), int32(t.Nanosecond())} }

type lineReading struct {
	at    instant
	line  int32
	meter int32 // index into readingsParser.ids
	value float64
}

// meterState is what the parser tracks per meter while reading.
type meterState struct {
	n      int     // readings so far
	last   instant // time of the latest reading so far
	sorted bool    // readings so far came in time order
}

type readingsParser struct {
	in     readingsInput
	meters map[string]int32 // meter id → index into ids and state
	ids    []string
	state  []meterState
	all    []lineReading // every reading in file order
	cols   [3]int        // position of meter_id, timestamp, value in a line
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
		if errors.Is(err, bufio.ErrTooLong) {
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
	mi, known := p.meters[string(id)]
	if !known {
		if len(id) == 0 {
			return p.errorf(line, "empty meter_id")
		}
		switch k, ok := p.in.kinds[string(id)]; {
		case !ok:
			return p.errorf(line, "unknown meter %q: not a meter of the config", id)
		case k != processing.Physical:
			return p.errorf(line, "meter %q is a %s meter: readings must name a physical meter", id, k)
		}
		mi = int32(len(p.ids))
		p.meters[string(id)] = mi
		p.ids = append(p.ids, string(id))
		p.state = append(p.state, meterState{sorted: true})
	}
	at, ok := parseTimestamp(ts, p.in.loc)
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
	st := &p.state[mi]
	if st.n > 0 && at.compare(st.last) < 0 {
		st.sorted = false
	}
	st.n++
	st.last = at
	p.all = append(p.all, lineReading{at: at, line: int32(line), meter: mi, value: v})
	return nil
}

// finish sorts each meter's readings, drops exact repeats and rejects two
// different values at one instant.
func (p *readingsParser) finish() (map[string][]processing.Reading, error) {
	// Group by meter, keeping file order within each meter.
	start := make([]int, len(p.ids)+1)
	for i, st := range p.state {
		start[i+1] = start[i] + st.n
	}
	grouped := make([]lineReading, len(p.all))
	next := slices.Clone(start[:len(p.ids)])
	for _, lr := range p.all {
		grouped[next[lr.meter]] = lr
		next[lr.meter]++
	}
	p.all = nil

	out := make(map[string][]processing.Reading, len(p.ids))
	// Report conflicts in file order whatever the meter order.
	var firstErr error
	firstLine := 0
	for mi, id := range p.ids {
		lrs := grouped[start[mi]:start[mi+1]]
		if !p.state[mi].sorted {
			slices.SortStableFunc(lrs, func(a, b lineReading) int { return a.at.compare(b.at) })
		}
		rs := make([]processing.Reading, 0, len(lrs))
		for i, lr := range lrs {
			if i > 0 && lr.at == lrs[i-1].at {
				prev := lrs[i-1]
				if prev.value == lr.value {
					continue
				}
				a, b := prev, lr
				if b.line < a.line {
					a, b = b, a
				}
				if firstErr == nil || int(b.line) < firstLine {
					firstLine = int(b.line)
					t := time.Unix(lr.at.sec, int64(lr.at.nsec)).In(p.in.loc)
					firstErr = p.errorf(firstLine, "meter %q has two values at %s: %s here, %s on line %d",
						id, t.Format(time.RFC3339Nano), formatValue(b.value), formatValue(a.value), a.line)
				}
				break
			}
			rs = append(rs, processing.Reading{Time: time.Unix(lr.at.sec, int64(lr.at.nsec)).In(p.in.loc), Value: lr.value})
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
func parseTimestamp(b []byte, loc *time.Location) (instant, bool) {
	if at, ok := parseTimestampFast(b, loc); ok {
		return at, true
	}
	s := string(b)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return instantOf(t), true
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return instantOf(t), true
		}
	}
	return instant{}, false
}

// parseTimestampFast handles YYYY-MM-DD and YYYY-MM-DD[T ]HH:MM:SS followed by
// nothing (local time in loc), Z or ±HH:MM. With an offset the instant is
// plain arithmetic; local times go through time.Date for its DST rules.
func parseTimestampFast(b []byte, loc *time.Location) (instant, bool) {
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return instant{}, false
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(time.Month(mo), y) {
		return instant{}, false
	}
	if len(b) == 10 {
		return instant{sec: time.Date(y, time.Month(mo), d, 0, 0, 0, 0, loc).Unix()}, true
	}
	if len(b) < 19 || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return instant{}, false
	}
	h, ok1 := num(b[11:13])
	mi, ok2 := num(b[14:16])
	sec, ok3 := num(b[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return instant{}, false
	}
	civil := daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+sec)
	rest := b[19:]
	switch {
	case len(rest) == 0:
		return instant{sec: time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc).Unix()}, true
	case len(rest) == 1 && rest[0] == 'Z':
		return instant{sec: civil}, true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return instant{}, false
		}
		off := int64(oh*3600 + om*60)
		if rest[0] == '-' {
			off = -off
		}
		return instant{sec: civil - off}, true
	}
	return instant{}, false
}

// daysFromCivil returns the days from 1970-01-01 to the given proleptic
// Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
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
