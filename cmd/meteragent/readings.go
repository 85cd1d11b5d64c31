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
	"unicode/utf8"

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

	// config, if set, is for a read begun before the config is loaded (and
	// kinds, and loc if nil, are not known yet): it waits for the config and
	// returns its zone and meters, or false if the config failed. The meter
	// ids are then checked once the input is read, and the zone is waited
	// for only when a timestamp without an offset needs it.
	config func() (*time.Location, map[string]processing.Kind, bool)
}

// errNoConfig ends a read begun before the config when the config failed.
var errNoConfig = errors.New("readings not read: the config failed")

// readReadings reads a CSV of meter_id,timestamp,value lines and returns the
// readings of each physical meter sorted by time. A reading repeated with the
// same value is dropped; every other problem stops the read with an error
// "NAME:LINE: what is wrong", so that no reading is lost silently.
//
// Timestamps are RFC 3339 (with Z or an offset), or YYYY-MM-DD HH:MM:SS,
// YYYY-MM-DDTHH:MM:SS and YYYY-MM-DD, which are read in in.loc. A local time
// that does not exist or occurs twice at a DST change is resolved the way
// time.Date does.
//
// The meters' slices share one array (each capped at its own end, so an
// append to one never writes into another's).
func readReadings(r io.Reader, in readingsInput) (map[string][]processing.Reading, error) {
	p := readingsParser{in: in, meters: make(map[string]int32), last: -1}
	if ra, ok := r.(io.ReaderAt); ok && in.size > 0 {
		if n := estimateLines(ra, in.size); n > 0 {
			p.all = make([]processing.Reading, 0, n)
			// Room for a run every 8 lines: room never used costs no page
			// fault (the GC does not scan memory without pointers) but
			// counts towards the next GC.
			p.runs = make([]meterRun, 0, n/8+16)
		}
	}
	err := p.read(r)
	if p.in.config != nil && err != errNoConfig {
		err = p.checkMeters(err)
	}
	if err != nil {
		return nil, p.firstError(err)
	}
	out, c := p.finish()
	if c != nil {
		return nil, p.conflictError(c)
	}
	return out, nil
}

// readReadingsFile is readReadings of an open file, whose size, when it is a
// regular file, sizes the reader's buffers.
func readReadingsFile(f *os.File, in readingsInput) (map[string][]processing.Reading, error) {
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		in.size = fi.Size()
	}
	return readReadings(f, in)
}

// readingsAhead reads a readings file in a goroutine of its own while the
// caller loads the config, which the reader needs only at the end (to check
// the meter ids) and for timestamps without an offset (their zone).
type readingsAhead struct {
	known chan struct{} // closed when the config is given or failed
	given bool          // known is closed (only the caller's goroutine uses it)
	loc   *time.Location
	kinds map[string]processing.Kind // nil if the config failed

	done     chan struct{} // closed when readings and err are set
	readings map[string][]processing.Reading
	err      error
}

// readReadingsAhead starts reading the file name, whose timestamps without an
// offset are in loc or, if loc is nil, in the zone the config will give.
func readReadingsAhead(name string, loc *time.Location) *readingsAhead {
	a := &readingsAhead{known: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		f, err := os.Open(name)
		if err != nil {
			a.err = err
			return
		}
		defer f.Close()
		a.readings, a.err = readReadingsFile(f, readingsInput{name: name, loc: loc, config: a.config})
	}()
	return a
}

func (a *readingsAhead) config() (*time.Location, map[string]processing.Kind, bool) {
	<-a.known
	return a.loc, a.kinds, a.kinds != nil
}

// wait gives the reader the config's zone and meters and returns what
// readReadingsFile would have with them from the start: the same readings
// or the same error, the open file's included.
func (a *readingsAhead) wait(loc *time.Location, kinds map[string]processing.Kind) (map[string][]processing.Reading, error) {
	a.give(loc, kinds)
	<-a.done
	return a.readings, a.err
}

// stop, after wait, does nothing; before, it tells the reader that the
// config failed and does not wait for it: a config error is reported at
// once, not after a big or slow readings file. The reader, if it was waiting
// for the zone, ends at once; else it ends when the file is read, and what
// it read is dropped.
func (a *readingsAhead) stop() { a.give(nil, nil) }

func (a *readingsAhead) give(loc *time.Location, kinds map[string]processing.Kind) {
	if !a.given {
		a.given = true
		a.loc, a.kinds = loc, kinds
		close(a.known)
	}
}

// readBufSize is the reader's buffer to begin with; it grows only for lines
// longer than that, up to maxLineLen. A bigger buffer saves a few read calls
// but costs a page fault per 4 KiB touched.
const readBufSize = 16 << 10

// instant is a point in time as Unix seconds and nanoseconds.
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

// meterState is what the parser tracks per meter while reading.
type meterState struct {
	n         int     // readings so far
	last      instant // time of the latest reading so far
	lastValue float64 // and its value
	lastLine  int32   // and its line
	first     int32   // line of its first reading
	sorted    bool    // readings so far came in time order
	repeats   bool    // some reading repeats the one before it
	// conflict is the first reading whose instant has another value on the
	// line before, found while the meter is sorted (else finish looks for it
	// after sorting).
	conflict *conflict
}

// conflict is two different values of a meter at one instant.
type conflict struct {
	at           instant
	meter        int32
	line, prev   int32   // the later line and the earlier one
	value, other float64 // their values
}

// meterRun is a stretch of consecutive lines with readings of one meter.
type meterRun struct {
	meter, line, n int32 // meter index, first line, readings
}

type readingsParser struct {
	in     readingsInput
	meters map[string]int32 // meter id → index into ids and state
	ids    []string
	state  []meterState
	last   int32 // meter of the latest reading, -1 before the first

	// all holds every reading in file order; runs says whose they are and on
	// which lines. finish groups all by meter in place.
	all  []processing.Reading
	runs []meterRun

	cols     [3]int // position of meter_id, timestamp, value in a line
	consumed int64  // bytes of input read so far, to size all
	shortest int    // bytes of the shortest line of a reading so far
}

func (p *readingsParser) errorf(line int, format string, args ...any) error {
	return &lineError{name: p.in.name, line: line, msg: fmt.Sprintf(format, args...)}
}

// lineError is a problem with one line of a readings file.
type lineError struct {
	name string
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.name, e.line, e.msg) }

// awaitConfig waits for the config of a read begun before it and takes its
// meters and, if not known yet, its zone. It is false if the config failed.
func (p *readingsParser) awaitConfig() bool {
	loc, kinds, ok := p.in.config()
	if !ok {
		return false
	}
	p.in.kinds = kinds
	if p.in.loc == nil {
		p.in.loc = loc
		// The readings so far get the zone: In changes a time's location,
		// not its instant.
		for i := range p.all {
			p.all[i].Time = p.all[i].Time.In(loc)
		}
	}
	return true
}

// checkMeters, at the end of a read begun before the config, checks the
// meter ids against the config and returns the error of the first bad line:
// err, the one that stopped the read, or that of the first id the config
// does not allow (found on an earlier line, or on err's own line, where
// readReadings with the config known would have stopped first).
func (p *readingsParser) checkMeters(err error) error {
	if !p.awaitConfig() {
		return errNoConfig
	}
	for mi, id := range p.ids { // in order of their first lines
		if kerr := p.kindError(int(p.state[mi].first), id); kerr != nil {
			var le *lineError
			if errors.As(err, &le) && le.line < int(p.state[mi].first) {
				return err
			}
			return kerr
		}
	}
	return err
}

// firstError returns err, the error that stopped reading, unless the
// readings before it hold two values at one instant on an earlier line:
// errors name the first bad line of the file.
func (p *readingsParser) firstError(err error) error {
	var le *lineError
	if !errors.As(err, &le) {
		return err
	}
	if _, c := p.finish(); c != nil && int(c.line) < le.line {
		return p.conflictError(c)
	}
	return err
}

func (p *readingsParser) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	bufSize := readBufSize
	if p.in.size > 0 && p.in.size < int64(bufSize) {
		bufSize = int(p.in.size) + 1 // +1: room to see the end of input
	}
	sc.Buffer(make([]byte, 0, bufSize), maxLineLen)
	var fields [3][]byte
	line, header := 0, false
	for sc.Scan() {
		line++
		b := sc.Bytes()
		p.consumed += int64(len(b)) + 1
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		b = trimSpace(b)
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
		if l := len(sc.Bytes()) + 1; p.shortest == 0 || l < p.shortest {
			p.shortest = l
		}
	}
	return scanEnd(p.in.name, sc.Err(), line, header)
}

// scanEnd is the error a scan of the readings file name ends with, given
// the scanner's error, the last line read and whether a header was seen:
// a line too long, a read error, a file without a header, or nil.
func scanEnd(name string, err error, line int, header bool) error {
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		return &lineError{name: name, line: line + 1, msg: fmt.Sprintf("line longer than %d bytes", maxLineLen)}
	case err != nil:
		return fmt.Errorf("%s: %w", name, err)
	case !header:
		return fmt.Errorf("%s: empty file, want a header line %q", name, readingsHeader)
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
			field = trimSpace(field)
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

// trimSpace is bytes.TrimSpace, without a call for the usual field that
// begins and ends with a printable ASCII byte.
func trimSpace(b []byte) []byte {
	if len(b) > 0 && b[0] > ' ' && b[0] < utf8.RuneSelf && b[len(b)-1] > ' ' && b[len(b)-1] < utf8.RuneSelf {
		return b
	}
	return bytes.TrimSpace(b)
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
	mi := p.last
	if mi < 0 || string(id) != p.ids[mi] {
		var known bool
		mi, known = p.meters[string(id)]
		if !known {
			var err error
			if mi, err = p.addMeter(line, id); err != nil {
				return err
			}
		}
	}
	at, ok := parseTimestamp(ts, p.in.loc)
	if !ok && p.in.loc == nil {
		// Perhaps a time without an offset, which needs the config's zone.
		if !p.awaitConfig() {
			return errNoConfig
		}
		at, ok = parseTimestamp(ts, p.in.loc)
	}
	if !ok {
		return p.errorf(line, "bad timestamp %q: want RFC 3339 or YYYY-MM-DD HH:MM:SS", ts)
	}
	v, ok := parseValue(val)
	if !ok {
		return p.errorf(line, "%s", badValue(val))
	}
	st := &p.state[mi]
	if st.n > 0 {
		switch c := at.compare(st.last); {
		case c < 0:
			st.sorted = false
		case c == 0 && v == st.lastValue:
			st.repeats = true
		case c == 0 && st.conflict == nil && st.sorted:
			st.conflict = &conflict{at: at, line: int32(line), prev: st.lastLine, value: v, other: st.lastValue}
		}
	}
	st.n++
	st.last, st.lastValue, st.lastLine = at, v, int32(line)

	if len(p.all) == cap(p.all) {
		p.grow()
	}
	t := time.Unix(at.sec, int64(at.nsec))
	if p.in.loc != nil { // else awaitConfig sets it
		t = t.In(p.in.loc)
	}
	p.all = append(p.all, processing.Reading{Time: t, Value: v})
	if k := len(p.runs) - 1; k >= 0 && p.runs[k].meter == mi && p.runs[k].line+p.runs[k].n == int32(line) {
		p.runs[k].n++
	} else {
		p.runs = append(p.runs, meterRun{meter: mi, line: int32(line), n: 1})
	}
	p.last = mi
	return nil
}

// addMeter checks a meter id seen for the first time and gives it an index.
// Before the config is known only an empty id is refused; checkMeters
// checks the rest at the end.
func (p *readingsParser) addMeter(line int, id []byte) (int32, error) {
	if len(id) == 0 {
		return 0, p.errorf(line, "empty meter_id")
	}
	s := string(id)
	if p.in.config == nil {
		if err := p.kindError(line, s); err != nil {
			return 0, err
		}
	}
	mi := int32(len(p.ids))
	p.meters[s] = mi
	p.ids = append(p.ids, s)
	p.state = append(p.state, meterState{first: int32(line), sorted: true})
	return mi, nil
}

// kindError refuses a meter id, first seen on line, that names no physical
// meter of the config.
func (p *readingsParser) kindError(line int, id string) error {
	switch k, ok := p.in.kinds[id]; {
	case !ok:
		return p.errorf(line, "unknown meter %q: not a meter of the config", id)
	case k != processing.Physical:
		return p.errorf(line, "meter %q is a %s meter: readings must name a physical meter", id, k)
	}
	return nil
}

// estimateLines guesses from a few samples how many lines an input of the
// given size has, a little more rather than less, or returns 0 if the samples
// say nothing. Every reading is kept in one array that the GC scans whole,
// touching each of its pages: sizing it well saves either a copy or faults.
func estimateLines(ra io.ReaderAt, size int64) int {
	const samples, window = 8, 1024
	if size < 2*samples*window {
		return int(min(size/16+16, 1<<16)) // at most 32 KiB; 16 bytes is a short reading
	}
	var buf [window]byte
	lines, bytesRead := 0, 0
	for k := range int64(samples) {
		n, err := ra.ReadAt(buf[:], size*(2*k+1)/(2*samples)-window/2)
		if err != nil && err != io.EOF {
			return 0
		}
		lines += bytes.Count(buf[:n], []byte{'\n'})
		bytesRead += n
	}
	if lines == 0 {
		return 0
	}
	est := size * int64(lines) / int64(bytesRead)
	return int(min(est+est/32+64, 1<<24))
}

// grow makes room in p.all for as many more readings as the rest of the
// input holds if lines go on as long as they were (at least 7/8 of the mean,
// at least the shortest line), so that all is copied about once instead of
// again and again. Without the input's size it doubles all.
func (p *readingsParser) grow() {
	n := len(p.all)
	more := max(n, 256)
	if rest := p.in.size - p.consumed; p.in.size > 0 && rest > 0 {
		more = 256
		if n >= 256 {
			perLine := max(p.consumed*7/8/int64(n+1), int64(p.shortest), 1)
			more = int(min(rest/perLine+rest/perLine/32+64, 1<<24))
		}
	}
	p.all = slices.Grow(p.all, more)
}

// finish groups the readings by meter, sorts each meter's readings and drops
// exact repeats. Two different values at one instant make it return the
// conflict that comes first in the file instead.
func (p *readingsParser) finish() (map[string][]processing.Reading, *conflict) {
	// Where each meter's readings begin once grouped, in order of first
	// appearance, so that a file already grouped by meter stays as it is.
	start := make([]int, len(p.ids)+1)
	for i, st := range p.state {
		start[i+1] = start[i] + st.n
	}
	unsorted := false
	for _, st := range p.state {
		unsorted = unsorted || !st.sorted
	}
	// The lines of unsorted meters' readings, in file order, to name them in
	// errors after sorting.
	var lines [][]int32
	if unsorted {
		lines = make([][]int32, len(p.ids))
		for _, r := range p.runs {
			if !p.state[r.meter].sorted {
				for k := range r.n {
					lines[r.meter] = append(lines[r.meter], r.line+k)
				}
			}
		}
	}
	if len(p.runs) > len(p.ids) { // else each meter is one run, in place
		p.group(start)
	}
	p.runs = nil

	out := make(map[string][]processing.Reading, len(p.ids))
	// Report conflicts in file order whatever the meter order.
	var first *conflict
	for mi, id := range p.ids {
		st := &p.state[mi]
		rs := p.all[start[mi]:start[mi+1]:start[mi+1]]
		var c *conflict
		switch {
		case !st.sorted:
			rs, c = sortReadings(rs, lines[mi])
		case st.conflict != nil:
			c = st.conflict
		case st.repeats:
			rs = dropRepeats(rs)
		}
		if c != nil && (first == nil || c.line < first.line) {
			c.meter = int32(mi)
			first = c
		}
		out[id] = rs
	}
	if first != nil {
		return nil, first
	}
	return out, nil
}

// conflictError is the error that reports c.
func (p *readingsParser) conflictError(c *conflict) error {
	t := time.Unix(c.at.sec, int64(c.at.nsec)).In(p.in.loc)
	return p.errorf(int(c.line), "meter %q has two values at %s: %s here, %s on line %d",
		p.ids[c.meter], t.Format(time.RFC3339Nano), formatValue(c.value), formatValue(c.other), c.prev)
}

// group reorders p.all in place so that each meter's readings, in file
// order, begin at start[meter]: each reading's place is worked out from the
// runs, then cycles of places are followed with swaps, each of which puts one
// reading where it belongs.
func (p *readingsParser) group(start []int) {
	next := slices.Clone(start[:len(p.ids)])
	dest := make([]int32, len(p.all))
	i := 0
	for _, r := range p.runs {
		d := next[r.meter]
		for k := range int(r.n) {
			dest[i+k] = int32(d + k)
		}
		next[r.meter] += int(r.n)
		i += int(r.n)
	}
	all := p.all
	for i := range all {
		for d := dest[i]; int(d) != i; d = dest[i] {
			all[i], all[d] = all[d], all[i]
			dest[i], dest[d] = dest[d], d
		}
	}
}

// sortReadings sorts one meter's readings (in file order, on the given
// lines) by time, keeping file order at equal times, and drops exact
// repeats. It returns the conflict that comes first in the file, if any.
func sortReadings(rs []processing.Reading, lines []int32) ([]processing.Reading, *conflict) {
	type lineReading struct {
		r    processing.Reading
		line int32
	}
	lrs := make([]lineReading, len(rs))
	for i, r := range rs {
		lrs[i] = lineReading{r, lines[i]}
	}
	slices.SortStableFunc(lrs, func(a, b lineReading) int { return a.r.Time.Compare(b.r.Time) })
	rs = rs[:0]
	var first *conflict
	for i, lr := range lrs {
		if i > 0 && lr.r.Time.Equal(lrs[i-1].r.Time) {
			prev := lrs[i-1]
			if prev.r.Value == lr.r.Value {
				continue
			}
			// Equal instants keep file order, so the later of the two
			// lines is where the file first holds a second value.
			if first == nil || lr.line < first.line {
				first = &conflict{at: instantOf(lr.r.Time), line: lr.line, prev: prev.line, value: lr.r.Value, other: prev.r.Value}
			}
		}
		rs = append(rs, lr.r)
	}
	if first != nil {
		return nil, first
	}
	return rs[:len(rs):len(rs)], nil
}

// dropRepeats drops the readings that repeat the one before them, time and
// value, from readings sorted by time.
func dropRepeats(rs []processing.Reading) []processing.Reading {
	rs = slices.CompactFunc(rs, func(a, b processing.Reading) bool { return a.Time.Equal(b.Time) })
	return rs[:len(rs):len(rs)]
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

// badValue says why a value field that parseValue refused is not a reading.
func badValue(val []byte) string {
	if len(val) == 0 {
		return "empty value"
	}
	if f, err := strconv.ParseFloat(string(val), 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return fmt.Sprintf("value %q is not a finite number", val)
	}
	return fmt.Sprintf("value %q is not a number", val)
}

// parseTimestamp hand-parses the common shapes (they are most of the
// command's time) and falls back to time.Parse for the rest of RFC 3339.
// A nil loc refuses timestamps without an offset.
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
	if loc == nil {
		return instant{}, false
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return instantOf(t), true
		}
	}
	return instant{}, false
}

// parseTimestampFast handles YYYY-MM-DD and YYYY-MM-DD[T ]HH:MM:SS followed by
// nothing (local time in loc; none if loc is nil), Z or ±HH:MM. With an
// offset the instant is plain arithmetic; local times go through time.Date
// for its DST rules.
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
		if loc == nil {
			return instant{}, false
		}
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
		if loc == nil {
			return instant{}, false
		}
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
