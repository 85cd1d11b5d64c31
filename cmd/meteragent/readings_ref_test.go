package main

// The reader as it was before it parsed straight into one array grouped in
// place: a reference that the fuzz test compares the reader with, result for
// result and error for error.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

func refReadReadings(r io.Reader, in readingsInput) (map[string][]processing.Reading, error) {
	p := refParser{in: in, meters: make(map[string]int32)}
	if in.size > 0 {
		// Lines are rarely shorter than 32 bytes; one allocation then holds
		// every reading.
		p.all = make([]refLineReading, 0, min(in.size/32+16, 1<<24))
	}
	if err := p.read(r); err != nil {
		// Errors name the first bad line: a conflict before it wins.
		var le *lineError
		if errors.As(err, &le) {
			if _, cerr := p.finish(); cerr != nil && cerr.(*lineError).line < le.line {
				return nil, cerr
			}
		}
		return nil, err
	}
	return p.finish()
}

type refLineReading struct {
	at    instant
	line  int32
	meter int32 // index into refParser.ids
	value float64
}

// refMeterState is what the parser tracks per meter while reading.
type refMeterState struct {
	n      int     // readings so far
	last   instant // time of the latest reading so far
	sorted bool    // readings so far came in time order
}

type refParser struct {
	in     readingsInput
	meters map[string]int32 // meter id → index into ids and state
	ids    []string
	state  []refMeterState
	all    []refLineReading // every reading in file order
	cols   [3]int           // position of meter_id, timestamp, value in a line
}

func (p *refParser) errorf(line int, format string, args ...any) error {
	return &lineError{name: p.in.name, line: line, msg: fmt.Sprintf(format, args...)}
}

func (p *refParser) read(r io.Reader) error {
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
			np := readingsParser{in: p.in}
			if err := np.parseHeader(line, b, n, &fields); err != nil {
				return err
			}
			p.cols = np.cols
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
	return scanEnd(p.in.name, sc.Err(), line, header)
}

func (p *refParser) parseLine(line int, id, ts, val []byte) error {
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
		p.state = append(p.state, refMeterState{sorted: true})
	}
	at, ok := parseTimestamp(ts, p.in.loc)
	if !ok {
		return p.errorf(line, "bad timestamp %q: want RFC 3339 or YYYY-MM-DD HH:MM:SS", ts)
	}
	v, ok := parseValue(val)
	if !ok {
		return p.errorf(line, "%s", badValue(val))
	}
	st := &p.state[mi]
	if st.n > 0 && at.compare(st.last) < 0 {
		st.sorted = false
	}
	st.n++
	st.last = at
	p.all = append(p.all, refLineReading{at: at, line: int32(line), meter: mi, value: v})
	return nil
}

// finish sorts each meter's readings, drops exact repeats and rejects two
// different values at one instant.
func (p *refParser) finish() (map[string][]processing.Reading, error) {
	// Group by meter, keeping file order within each meter.
	start := make([]int, len(p.ids)+1)
	for i, st := range p.state {
		start[i+1] = start[i] + st.n
	}
	grouped := make([]refLineReading, len(p.all))
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
			slices.SortStableFunc(lrs, func(a, b refLineReading) int { return a.at.compare(b.at) })
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
				continue
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

// sameReadings says how two results of a reader differ, or "" if they are
// the same: same meters, same readings bit for bit, same errors.
func sameReadings(got, want map[string][]processing.Reading, gotErr, wantErr error) string {
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		return fmt.Sprintf("error %v, want %v", gotErr, wantErr)
	}
	if (got == nil) != (want == nil) || len(got) != len(want) {
		return fmt.Sprintf("meters %v, want %v", meterIDs(got), meterIDs(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: %d readings, want %d", id, len(g), len(w))
		}
		for i := range w {
			if g[i].Time != w[i].Time || math.Float64bits(g[i].Value) != math.Float64bits(w[i].Value) {
				return fmt.Sprintf("%s[%d] = %v %v, want %v %v", id, i, g[i].Time, g[i].Value, w[i].Time, w[i].Value)
			}
		}
		if cap(g) != len(g) {
			return fmt.Sprintf("%s: capacity %d beyond its %d readings", id, cap(g), len(g))
		}
	}
	return ""
}

func compareWithReference(t *testing.T, loc *time.Location, in string, size int64) {
	t.Helper()
	ri := readingsInput{name: "f.csv", loc: loc, kinds: testKinds, size: size}
	want, wantErr := refReadReadings(strings.NewReader(in), ri)
	got, gotErr := readReadings(strings.NewReader(in), ri)
	if d := sameReadings(got, want, gotErr, wantErr); d != "" {
		t.Fatalf("input %q: %s", in, d)
	}
}

// randomReadings is a readings CSV of a few meters, interleaved, mostly in
// time order, with repeats, conflicts, blank lines and errors now and then.
func randomReadings(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("meter_id,timestamp,value\n")
	ids := []string{"gas", "strom", "wasser", "total"}
	nm := 1 + rng.IntN(3)
	t := [4]int{}
	n := rng.IntN(60)
	for range n {
		m := rng.IntN(nm)
		if rng.IntN(4) == 0 {
			m = rng.IntN(nm) // longer runs of one meter now and then
		}
		switch rng.IntN(40) {
		case 0:
			b.WriteString("\n")
		case 1:
			t[m] -= 1 + rng.IntN(5) // out of order
		case 2:
			if rng.IntN(10) == 0 {
				m = 3 // a master meter
			}
		case 3, 4, 5, 6:
			// the same instant again
		default:
			t[m] += rng.IntN(3)
		}
		v := t[m%3] * 10
		if rng.IntN(30) == 0 {
			v++ // a conflict if the instant repeats
		}
		fmt.Fprintf(&b, "%s,2024-03-%02d %02d:00:00,%d\n", ids[m], 1+(t[m%3]+100)/24%28, (t[m%3]+100)%24, v)
	}
	if rng.IntN(50) == 0 {
		b.WriteString("gas,bad,1\n")
	}
	return b.String()
}

// The reader gives what the one before it gave, reading for reading and
// error for error, on random inputs.
func TestReadReadingsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	loc := berlin(t)
	for i := range 20000 {
		in := randomReadings(rng)
		size := int64(0)
		if i%2 == 0 {
			size = int64(len(in))
		}
		compareWithReference(t, loc, in, size)
	}
}

// The same on the demo house.
func TestReadReadingsMatchesReferenceDemo(t *testing.T) {
	in, ri := demoReadingsInput(t)
	want, wantErr := refReadReadings(bytes.NewReader(in), ri)
	// Without a size, with the right one (sampled), and with sizes that
	// make the array grow (too small) or leave room (too big).
	for _, size := range []int64{0, int64(len(in)), int64(len(in)) / 3, int64(len(in)) * 2} {
		ri.size = size
		got, gotErr := readReadings(bytes.NewReader(in), ri)
		if d := sameReadings(got, want, gotErr, wantErr); d != "" {
			t.Fatalf("size %d: %s", size, d)
		}
		// A reader that is no io.ReaderAt, like a request body.
		got, gotErr = readReadings(struct{ io.Reader }{bytes.NewReader(in)}, ri)
		if d := sameReadings(got, want, gotErr, wantErr); d != "" {
			t.Fatalf("size %d, no ReaderAt: %s", size, d)
		}
	}
}

// The same on the demo house's lines shuffled (every meter out of order),
// then with two values at one instant somewhere.
func TestReadReadingsMatchesReferenceShuffled(t *testing.T) {
	in, ri := demoReadingsInput(t)
	lines := strings.Split(strings.TrimSuffix(string(in), "\n"), "\n")
	rng := rand.New(rand.NewPCG(5, 6))
	body := lines[1:]
	rng.Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
	check := func(name, csv string) error {
		t.Helper()
		want, wantErr := refReadReadings(strings.NewReader(csv), ri)
		for _, size := range []int64{0, int64(len(csv))} {
			ri := ri
			ri.size = size
			got, gotErr := readReadings(strings.NewReader(csv), ri)
			if d := sameReadings(got, want, gotErr, wantErr); d != "" {
				t.Fatalf("%s, size %d: %s", name, size, d)
			}
		}
		return wantErr
	}
	if err := check("shuffled", strings.Join(lines, "\n")+"\n"); err != nil {
		t.Fatal(err)
	}
	// A copy of a line with another value, and an exact repeat.
	dup := body[len(body)/2]
	i := strings.LastIndexByte(dup, ',')
	body = append(body, dup[:i+1]+"123456.5", body[len(body)/3])
	rng.Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
	if err := check("conflict", strings.Join(append(lines[:1:1], body...), "\n")+"\n"); err == nil {
		t.Fatal("no error for two values at one instant")
	} else {
		t.Log(err)
	}
}

func FuzzReadReadingsMatchesReference(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		f.Add(randomReadings(rng), true)
	}
	f.Add("meter_id,timestamp,value\ngas,2024-01-01,1\ngas,2024-01-01,1\nstrom,2024-01-01,1\ngas,2023-01-01,1\ngas,2024-01-01,2\n", false)
	loc := berlin(f)
	f.Fuzz(func(t *testing.T, in string, sized bool) {
		size := int64(0)
		if sized {
			size = int64(len(in))
		}
		compareWithReference(t, loc, in, size)
	})
}

func FuzzTrimSpace(f *testing.F) {
	for _, s := range []string{"", " ", "a", " a", "a ", "\u00a0a", "a\u0085", "\x7f", "ab\xff", "\t a b \r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := trimSpace([]byte(s)), bytes.TrimSpace([]byte(s)); !bytes.Equal(got, want) {
			t.Fatalf("trimSpace(%q) = %q, want %q", s, got, want)
		}
	})
}
