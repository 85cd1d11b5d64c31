package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meteragent/meteragent/config"
	"github.com/meteragent/meteragent/processing"
)

// Output file names of the process command.
const (
	dailyFile     = "daily.csv"
	monthlyFile   = "monthly.csv"
	anomaliesFile = "anomalies.csv"
)

const dateLayout = "2006-01-02"

// Headers of the output files.
const (
	dailyHeader     = "meter_id,date,reading,consumption,quality"
	monthlyHeader   = "meter_id,month,reading,consumption"
	anomaliesHeader = "meter_id,date,consumption,expected,score,tests,kind,days"
)

// processFlags are the process command's flags after parsing.
type processFlags struct {
	configDir, readings, out string
	from, to, timezone       string
	verbose, timings         bool
}

func runProcess(ctx context.Context, e *env, args []string) error {
	var f processFlags
	fs := newFlagSet(e, "process", "--config DIR --readings FILE --out DIR [--from DATE] [--to DATE] [--timezone ZONE]")
	fs.StringVar(&f.configDir, "config", "", "configuration `directory` (config.yaml, meters.yaml, seasonal_patterns.yaml)")
	fs.StringVar(&f.readings, "readings", "", "readings CSV `file` with header meter_id,timestamp,value")
	fs.StringVar(&f.out, "out", "", "output `directory` for daily.csv, monthly.csv and anomalies.csv (created if missing)")
	fs.StringVar(&f.from, "from", "", "first `date` (YYYY-MM-DD) of the output (default: processing.first_day of the config)")
	fs.StringVar(&f.to, "to", "", "last `date` (YYYY-MM-DD) of the output, usually today (default: today)")
	fs.StringVar(&f.timezone, "timezone", "", "IANA time `zone` of the day boundaries and of timestamps without offset (default: the config's timezone)")
	fs.BoolVar(&f.verbose, "v", false, "list every warning in the summary")
	fs.BoolVar(&f.timings, "timings", false, "print how long each phase took to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, req := range []struct{ name, val string }{{"config", f.configDir}, {"readings", f.readings}, {"out", f.out}} {
		if req.val == "" {
			return usagef("--%s is required", req.name)
		}
	}
	batchGC()
	return process(ctx, e, f)
}

// The batch command's garbage collection, unless GOGC or GOMEMLIMIT say
// otherwise. A run allocates its working set once and exits, so collecting
// while the heap is small only costs time: at 100 %, the default, the demo
// house's run collects three times and takes 7-17 % longer than at 400 %,
// where it collects not at all (GODEBUG=gctrace=1) and peaks at the same
// 16.5 MB (hyperfine of the process command with GOGC=100 against none). For large houses the heap
// still grows in proportion to what is live, and the soft limit makes the
// collector work harder before a small Pi runs out of memory: a house that
// keeps more than 256 MiB live (thousands of meter-years) is collected
// almost continuously, at up to half the CPU, rather than allowed to grow.
const (
	batchGCPercent   = 400
	batchMemoryLimit = 256 << 20
)

func batchGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(batchGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(batchMemoryLimit)
	}
}

func process(ctx context.Context, e *env, f processFlags) error {
	ph := phases{now: e.now}
	if f.timings {
		defer ph.print(e.stderr)
	}
	ph.start()
	var tz *time.Location
	var tzErr error
	if f.timezone != "" {
		tz, tzErr = time.LoadLocation(f.timezone) // an error is reported after the config's
	}
	// The readings are parsed while the config loads, on another core. An
	// error of the config, then one of the flags, wins over the readings'.
	ahead := readReadingsAhead(f.readings, tz)
	defer ahead.stop()
	cfg, err := config.Load(f.configDir)
	if err != nil {
		return configError(f.configDir, err)
	}
	loc := cfg.Location
	if f.timezone != "" {
		if tzErr != nil {
			return usagef("--timezone %q: unknown time zone", f.timezone)
		}
		loc = tz
	}
	if loc == nil {
		loc = time.Local
	}
	house, err := newHouse(cfg, loc)
	if err != nil {
		return fmt.Errorf("%s: %w", f.configDir, err)
	}

	to, err := flagDate("to", f.to, loc)
	if err != nil {
		return err
	}
	if to.IsZero() {
		y, m, d := e.now().In(loc).Date()
		to = time.Date(y, m, d, 0, 0, 0, 0, loc)
	}

	ph.done("config")
	readings, err := ahead.wait(loc, readingKinds(cfg, house))
	if err != nil {
		return err
	}

	from, err := flagDate("from", f.from, loc)
	if err != nil {
		return err
	}
	if from.IsZero() {
		from = defaultFrom(cfg, house, readings, loc)
	}
	if from.After(to) {
		return usagef("--from %s is after --to %s", from.Format(dateLayout), to.Format(dateLayout))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ph.done("read")

	// The same options as the live agent's, so both compute the same series.
	opt := runOptions(cfg, loc)
	takeTemperatures(&opt, cfg, readings)
	opt.From, opt.To = from, to
	workers := runtime.GOMAXPROCS(0)
	plan, err := processing.NewPlan(house, opt)
	if err != nil {
		return fmt.Errorf("process: %w", err)
	}
	set, err := newOutputSet(f.out)
	if err != nil {
		return err
	}
	res, err := computeAndWrite(ctx, plan, readings, set, workers)
	if err != nil {
		return err
	}
	ph.done("process")

	if err := set.Commit(); err != nil {
		return err
	}
	ph.done("write")
	// One write for the whole summary, not one per line.
	out := bufio.NewWriter(e.stdout)
	printSummary(out, summaryInput{
		res: res, loc: loc, from: from, to: to, notices: noticeLines(f.configDir, cfg),
		paths: set.Paths(), verbose: f.verbose,
	})
	out.Flush() // the outputs are in place: a closed stdout does not fail the run
	return nil
}

// computeAndWrite computes every meter of plan on up to workers goroutines
// (see schedule) and writes the three outputs into set, which the caller
// commits: daily.csv meter by meter as each one's days become final,
// monthly.csv once all are, anomalies.csv at the end. The first two are
// written and synced while the last meters are still computed. On error
// the set is aborted.
func computeAndWrite(ctx context.Context, plan *processing.Plan, readings map[string][]processing.Reading, set *outputSet, workers int) (processing.Result, error) {
	s := newSchedule(plan)
	daily, monthly := set.Create(dailyFile), set.Create(monthlyFile)
	daily.W.WriteString(dailyHeader + "\n")
	if s.n == 0 {
		daily.Done() // no rows to wait for
	}
	s.write = func(j int) {
		writeDailyRows(daily.W, processing.Result{Meters: []processing.MeterResult{plan.Series(j)}})
		if j == s.n-1 {
			daily.Done()
		}
	}
	s.allDays = func() {
		all := processing.Result{Meters: make([]processing.MeterResult, s.n)}
		for j := range all.Meters {
			all.Meters[j] = plan.Series(j)
		}
		writeMonthly(monthly.W, all)
		monthly.Done()
	}
	if err := s.run(readings, workers); err != nil {
		set.Abort()
		return processing.Result{}, fmt.Errorf("process: %w", err)
	}
	if err := ctx.Err(); err != nil {
		set.Abort()
		return processing.Result{}, err
	}
	res := plan.Result()
	set.Go(outFile{anomaliesFile, func(w *bufio.Writer) { writeAnomalies(w, res) }})
	return res, nil
}

// schedule runs a plan's steps on a few goroutines so that both cores stay
// busy to the end. The physical meters that master and virtual meters read
// come first, most readings first; then Derive, and the derived meters'
// anomalies (the costliest of them), run while the remaining physical
// meters are computed. Writing is a step too, taken before any other as
// soon as it can run: a goroutine of its own would wait behind the
// computing ones for the CPU.
type schedule struct {
	plan *processing.Plan
	n    int // meters, physical and derived
	// write, if set, is called for every Result position in order, each as
	// soon as that meter's days are final; allDays, if set, once all are.
	write   func(j int)
	allDays func()
}

func newSchedule(plan *processing.Plan) *schedule {
	return &schedule{plan: plan, n: plan.Physical() + plan.Derived()}
}

// Steps of a schedule.
const (
	stepPhysical = iota // ProcessPhysical(k)
	stepDerive          // Derive
	stepDetect          // DetectDerived(k)
	stepWrite           // write(k)
	stepAllDays         // allDays()
)

type step struct{ kind, k int }

// run computes the plan and returns the first physical meter's error in
// house order, else Derive's, as processing.Process does.
func (s *schedule) run(readings map[string][]processing.Reading, workers int) error {
	p := s.plan
	nPhys := p.Physical()
	byReadings := make([]int, nPhys)
	for k := range byReadings {
		byReadings[k] = k
	}
	slices.SortStableFunc(byReadings, func(a, b int) int {
		return len(readings[p.PhysicalID(b)]) - len(readings[p.PhysicalID(a)])
	})
	var steps []step
	if s.write != nil {
		for j := range s.n {
			steps = append(steps, step{stepWrite, j})
		}
	}
	if s.allDays != nil {
		steps = append(steps, step{kind: stepAllDays})
	}
	feeding := 0
	for _, k := range byReadings {
		if p.FeedsDerived(k) {
			steps = append(steps, step{stepPhysical, k})
			feeding++
		}
	}
	steps = append(steps, step{kind: stepDerive})
	for k := range p.Derived() {
		steps = append(steps, step{stepDetect, k})
	}
	// The others in house order, the order of daily.csv, so that its
	// writer can go on as each is done instead of waiting for the last.
	for k := range nPhys {
		if !p.FeedsDerived(k) {
			steps = append(steps, step{stepPhysical, k})
		}
	}

	var (
		mu        sync.Mutex
		wake      = sync.NewCond(&mu)
		taken     = make([]bool, len(steps))
		derived   bool                // Derive has returned without error
		broken    bool                // a step failed: only physical meters are computed still
		final     = make([]bool, s.n) // the meter's days are final
		finals    int                 // how many are
		written   int                 // write has been called for 0 … written-1
		physErrs  = make([]error, nPhys)
		deriveErr error
	)
	// take returns the first step that can start, -1 when every step is
	// taken; it waits while steps are left but none can start yet.
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		for {
			waiting := false
			for i, st := range steps {
				if taken[i] {
					continue
				}
				ok := true
				switch {
				case st.kind != stepPhysical && broken:
					taken[i] = true // skipped
					continue
				case st.kind == stepDerive:
					ok = feeding == 0
				case st.kind == stepDetect:
					ok = derived
				case st.kind == stepWrite:
					ok = written == st.k && final[st.k]
				case st.kind == stepAllDays:
					ok = finals == len(final)
				}
				if ok {
					taken[i] = true
					return i
				}
				waiting = true
			}
			if !waiting {
				return -1
			}
			wake.Wait()
		}
	}
	parallel(workers, workers, func(int) {
		for i := take(); i >= 0; i = take() {
			st := steps[i]
			var err error
			switch st.kind {
			case stepPhysical:
				err = p.ProcessPhysical(st.k, readings[p.PhysicalID(st.k)])
			case stepDerive:
				err = p.Derive()
			case stepDetect:
				p.DetectDerived(st.k)
			case stepWrite:
				s.write(st.k)
			case stepAllDays:
				s.allDays()
			}
			mu.Lock()
			switch {
			case err != nil && st.kind == stepPhysical:
				physErrs[st.k], broken = err, true
			case err != nil:
				deriveErr, broken = err, true
			case st.kind == stepPhysical:
				final[st.k] = true
				finals++
				if p.FeedsDerived(st.k) {
					feeding--
				}
			case st.kind == stepDerive:
				derived = true
				for j := nPhys; j < s.n; j++ {
					final[j] = true
					finals++
				}
			case st.kind == stepWrite:
				written++
			}
			wake.Broadcast()
			mu.Unlock()
		}
	})
	for _, err := range physErrs {
		if err != nil {
			return err
		}
	}
	return deriveErr
}

// processConcurrently is processing.Process computed as the command
// computes it, by its schedule on up to workers goroutines; the result and
// the error (the first in house order) are Process's.
func processConcurrently(h processing.House, readings map[string][]processing.Reading, opt processing.RunOptions, workers int) (processing.Result, error) {
	plan, err := processing.NewPlan(h, opt)
	if err != nil {
		return processing.Result{}, err
	}
	if err := newSchedule(plan).run(readings, workers); err != nil {
		return processing.Result{}, err
	}
	return plan.Result(), nil
}

// parallel calls f(0) … f(n-1) on up to workers goroutines, in index order
// of starting, and returns when all have returned.
func parallel(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(workers, 1), n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// phases times the steps of a run for -timings, with the page faults each
// took: on small and virtual machines a first touch of fresh memory can cost
// more than the computing done in it.
type phases struct {
	now       func() time.Time
	last      time.Time
	lastFault int64
	names     []string
	took      []time.Duration
	faults    []int64
}

func (p *phases) start() { p.last, p.lastFault = p.now(), minorFaults() }

func (p *phases) done(name string) {
	t, f := p.now(), minorFaults()
	p.names = append(p.names, name)
	p.took = append(p.took, t.Sub(p.last))
	p.faults = append(p.faults, f-p.lastFault)
	p.last, p.lastFault = t, f
}

func (p *phases) print(w io.Writer) {
	var total time.Duration
	var sb strings.Builder
	for i, n := range p.names {
		fmt.Fprintf(&sb, " %s %s (%d faults)", n, p.took[i].Round(10*time.Microsecond), p.faults[i])
		total += p.took[i]
	}
	fmt.Fprintf(w, "timings:%s; total %s, %d page faults since start\n", sb.String(), total.Round(10*time.Microsecond), minorFaults())
}

// flagDate parses a YYYY-MM-DD flag as local midnight; empty gives zero.
func flagDate(name, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(dateLayout, s, loc)
	if err != nil {
		return time.Time{}, usagef("--%s %q: want a date YYYY-MM-DD", name, s)
	}
	return t, nil
}

// defaultFrom is the config's first day, else the earliest installation
// date, else the day of the earliest reading.
func defaultFrom(cfg *config.Config, h processing.House, readings map[string][]processing.Reading, loc *time.Location) time.Time {
	if fd := cfg.Processing.FirstDay; !fd.IsZero() {
		return fd.In(loc)
	}
	var from time.Time
	for _, m := range h.Meters {
		if !m.Installed.IsZero() && (from.IsZero() || m.Installed.Before(from)) {
			from = m.Installed
		}
	}
	if !from.IsZero() {
		return from
	}
	for _, rs := range readings {
		if len(rs) > 0 && (from.IsZero() || rs[0].Time.Before(from)) {
			from = rs[0].Time
		}
	}
	y, m, d := from.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// configError lists every problem of the configuration on its own line,
// with the file named by its path so that editors can jump to it.
func configError(dir string, err error) error {
	var lines []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *config.FieldError
		if errors.As(err, &fe) && fe.File != "" && !filepath.IsAbs(fe.File) {
			c := *fe
			c.File = filepath.Join(dir, fe.File)
			lines = append(lines, c.Error())
			return
		}
		lines = append(lines, err.Error())
	}
	walk(err)
	if len(lines) == 1 {
		return fmt.Errorf("%s: %w", "config", &listError{lines: lines, err: err})
	}
	return fmt.Errorf("config has %d problems:\n%w", len(lines), &listError{lines: lines, err: err})
}

// listError prints one problem per line and unwraps to the original error.
type listError struct {
	lines []string
	err   error
}

func (e *listError) Error() string { return strings.Join(e.lines, "\n") }
func (e *listError) Unwrap() error { return e.err }

// noticeLines formats the config's notices with each file named by its path.
func noticeLines(dir string, cfg *config.Config) []string {
	var out []string
	for _, n := range cfg.Notices {
		if n.File != "" && !filepath.IsAbs(n.File) {
			n.File = filepath.Join(dir, n.File)
		}
		out = append(out, n.String())
	}
	return out
}

// outFile is one output: its name in the out directory and how to write it.
type outFile struct {
	name  string
	write func(*bufio.Writer)
}

// outputSet writes files into a directory as one atomic set. Each file is
// written to a temporary file and synced in the background as soon as its
// content is final, so the disk works while the caller computes the rest;
// Commit renames them all into place once every one is complete, and none
// if any failed.
type outputSet struct {
	dir   string
	wg    sync.WaitGroup
	mu    sync.Mutex
	names []string // final names, in the order of Create
	tmps  []string
	errs  []error
	files []*os.File // open until their output is done
}

func newOutputSet(dir string) (*outputSet, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	return &outputSet{dir: dir}, nil
}

// pendingOutput is one output being written: W is its writer, for one
// goroutine at a time, until Done.
type pendingOutput struct {
	W *bufio.Writer
	s *outputSet
	k int
}

// Create starts an output: a temporary file in the set's directory. A
// failure to create it is reported by Commit; W then discards.
func (s *outputSet) Create(name string) *pendingOutput {
	f, err := os.CreateTemp(s.dir, "."+name+".*.tmp")
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &pendingOutput{s: s, k: len(s.names)}
	s.names = append(s.names, name)
	s.tmps = append(s.tmps, "")
	s.errs = append(s.errs, nil)
	s.files = append(s.files, f)
	if err != nil {
		s.errs[p.k] = fmt.Errorf("write %s: %w", filepath.Join(s.dir, name), err)
		p.W = bufio.NewWriter(io.Discard)
		return p
	}
	s.tmps[p.k] = f.Name()
	p.W = bufio.NewWriterSize(&writebackWriter{f: f}, 64<<10)
	return p
}

// Done marks the content complete; the file is flushed, synced and closed
// in the background.
func (p *pendingOutput) Done() {
	s := p.s
	s.mu.Lock()
	f := s.files[p.k]
	s.files[p.k] = nil
	s.mu.Unlock()
	if f == nil {
		return
	}
	s.wg.Go(func() {
		err := p.W.Flush()
		if err == nil {
			err = f.Chmod(0o644)
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			s.mu.Lock()
			s.errs[p.k] = fmt.Errorf("write %s: %w", filepath.Join(s.dir, s.names[p.k]), err)
			s.mu.Unlock()
		}
	})
}

// Paths returns the outputs' final paths, in the order of Create.
func (s *outputSet) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := make([]string, len(s.names))
	for i, name := range s.names {
		p[i] = filepath.Join(s.dir, name)
	}
	return p
}

// Go writes one output in a goroutine of its own.
func (s *outputSet) Go(o outFile) {
	p := s.Create(o.name)
	s.wg.Go(func() {
		o.write(p.W)
		p.Done()
	})
}

// Commit waits for every output and renames them all into place, then
// makes the renames durable. If any output failed, or a directory stands
// where a file goes, it removes what it wrote and replaces nothing. A rename
// that fails otherwise (the directory changed under it) leaves the other
// files replaced, and its own temporary file removed.
func (s *outputSet) Commit() error {
	s.wg.Wait()
	for k, f := range s.files {
		if f != nil {
			s.errs[k] = fmt.Errorf("write %s: output not complete", filepath.Join(s.dir, s.names[k]))
		}
	}
	if err := errors.Join(s.errs...); err != nil {
		s.Abort()
		return err
	}
	// A directory in a file's place is the one thing that stops a rename
	// here (the temporary files are in the same directory): found first, it
	// replaces nothing.
	for _, name := range s.names {
		if fi, err := os.Lstat(filepath.Join(s.dir, name)); err == nil && fi.IsDir() {
			s.removeTemps(0)
			return fmt.Errorf("write %s: is a directory", filepath.Join(s.dir, name))
		}
	}
	// The renames run concurrently: replacing a file frees the old one's
	// blocks, which takes long for a big file and need not wait in line.
	var wg sync.WaitGroup
	errs := make([]error, len(s.names))
	for i, name := range s.names {
		wg.Go(func() {
			if err := os.Rename(s.tmps[i], filepath.Join(s.dir, name)); err != nil {
				errs[i] = fmt.Errorf("write %s: %w", filepath.Join(s.dir, name), err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for i, e := range errs {
			if e != nil {
				os.Remove(s.tmps[i])
			}
		}
		return err
	}
	syncDir(s.dir)
	return nil
}

// syncDir makes the renames in dir durable. It is best effort: some file
// systems cannot sync a directory, and the files themselves are synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Abort waits for every output and removes them; nothing is replaced.
// Outputs never done are closed.
func (s *outputSet) Abort() {
	s.wg.Wait()
	for k, f := range s.files {
		if f != nil {
			f.Close()
			s.files[k] = nil
		}
	}
	s.removeTemps(0)
}

func (s *outputSet) removeTemps(from int) {
	for _, t := range s.tmps[from:] {
		if t != "" {
			os.Remove(t)
		}
	}
}

// writebackWriter writes to f and starts the disk writing every
// writebackChunk bytes, so that a large file's fsync overlaps its writing.
type writebackWriter struct {
	f           *os.File
	off, kicked int64
}

const writebackChunk = 256 << 10

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.kicked >= writebackChunk {
		startWriteback(w.f, w.kicked, w.off-w.kicked)
		w.kicked = w.off
	}
	return n, err
}

// appendNum appends v rounded to 6 decimals without trailing zeros; NaN
// (unknown) appends nothing, leaving the field empty. Below 8e9 in magnitude
// the text comes from v's integer count of millionths: it equals
// strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64), because there a
// float64 step is under 1e-6 and so that decimal is the shortest that
// round-trips, at a fraction of the cost. Larger values, whose float64 steps
// exceed 1e-6, are written in full.
func appendNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return b
	}
	if math.Abs(v) >= 8e9 {
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	r := math.Round(v * 1e6)
	if r == 0 {
		return append(b, '0') // also no "-0"
	}
	n := int64(r)
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	b = strconv.AppendInt(b, n/1e6, 10)
	frac := n % 1e6
	if frac == 0 {
		return b
	}
	// Six digits, two at a time, then without trailing zeros.
	var buf [7]byte
	buf[0] = '.'
	for i := 5; i > 0; i -= 2 {
		pair := 2 * (frac % 100)
		buf[i], buf[i+1] = digitPairs[pair], digitPairs[pair+1]
		frac /= 100
	}
	end := 7
	for buf[end-1] == '0' {
		end--
	}
	return append(b, buf[:end]...)
}

// digitPairs holds "00" to "99": two digits per lookup.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// appendDate appends YYYY-MM-DD.
func appendDate(b []byte, y int, m time.Month, d int) []byte {
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(m), 2)
	b = append(b, '-')
	return appendDigits(b, d, 2)
}

func appendDigits(b []byte, v, width int) []byte {
	if v < 0 || v >= 10000 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	var buf [4]byte
	for i := 3; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[4-width:]...)
}

func writeDaily(w *bufio.Writer, res processing.Result) {
	w.WriteString(dailyHeader + "\n")
	writeDailyRows(w, res)
}

// writeDailyRows writes the rows without the header (export writes one meter
// at a time). Rows are appended straight into the writer's free buffer, and
// a meter's consecutive dates are counted up rather than each converted.
func writeDailyRows(w *bufio.Writer, res processing.Result) {
	var date dateText
	for _, mr := range res.Meters {
		id := mr.Meter.ID
		// The longest row: the id, the date, two numbers written in full
		// (appendNum above 8e9), the longest quality and the separators.
		need := len(id) + 1 + 10 + 2*(1+maxNumLen) + 1 + maxQualityLen + 1
		b := w.AvailableBuffer()
		for _, d := range mr.Days {
			if cap(b)-len(b) < need {
				w.Write(b)
				if b = w.AvailableBuffer(); cap(b) < need {
					b = make([]byte, 0, need) // a writer smaller than a row
				}
			}
			b = append(b, id...)
			b = append(b, ',')
			b = date.append(b, d.Date)
			b = append(b, ',')
			b = appendNum(b, d.Reading)
			b = append(b, ',')
			b = appendNum(b, d.Consumption)
			b = append(b, ',')
			b = append(b, d.Quality.String()...)
			b = append(b, '\n')
		}
		w.Write(b)
	}
}

// maxNumLen bounds appendNum's text: strconv's 'f' of the largest float64
// has 309 digits, a sign and no fraction.
const maxNumLen = 310

// maxQualityLen bounds the length of a processing.Quality's name.
var maxQualityLen = func() int {
	n := 0
	for q := range processing.Quality(255) {
		n = max(n, len(q.String()))
	}
	return n
}()

// dateText formats dates as YYYY-MM-DD, the day after the last one by
// counting up its day of the month.
type dateText struct {
	last processing.Date
	dim  int // days in last's month
	text [10]byte
	ok   bool
}

func (t *dateText) append(b []byte, d processing.Date) []byte {
	if t.ok && d == t.last+1 && int(t.text[8]-'0')*10+int(t.text[9]-'0') < t.dim {
		dd := int(t.text[8]-'0')*10 + int(t.text[9]-'0') + 1
		t.text[8], t.text[9] = byte('0'+dd/10), byte('0'+dd%10)
	} else {
		y, m, dd := d.Civil()
		if y < 0 || y > 9999 {
			t.ok = false
			return appendDate(b, y, m, dd)
		}
		appendDate(t.text[:0], y, m, dd)
		t.dim, t.ok = daysIn(m, y), true
	}
	t.last = d
	return append(b, t.text[:]...)
}

func writeMonthly(w *bufio.Writer, res processing.Result) {
	w.WriteString(monthlyHeader + "\n")
	writeMonthlyRows(w, res)
}

// writeMonthlyRows writes the rows without the header (export writes one meter
// at a time).
func writeMonthlyRows(w *bufio.Writer, res processing.Result) {
	var b []byte
	for _, mr := range res.Meters {
		for _, m := range mr.Months {
			b = append(b[:0], mr.Meter.ID...)
			b = append(b, ',')
			b = m.Start.AppendFormat(b, "2006-01")
			b = append(b, ',')
			b = appendNum(b, m.Reading)
			b = append(b, ',')
			if m.Days > 0 {
				b = appendNum(b, m.Consumption)
			}
			b = append(b, '\n')
			w.Write(b)
		}
	}
}

func writeAnomalies(w *bufio.Writer, res processing.Result) {
	w.WriteString(anomaliesHeader + "\n")
	writeAnomaliesRows(w, res)
}

// writeAnomaliesRows writes the rows without the header (export writes one meter
// at a time).
func writeAnomaliesRows(w *bufio.Writer, res processing.Result) {
	var b []byte
	for _, mr := range res.Meters {
		for _, a := range mr.Anomalies {
			b = append(b[:0], mr.Meter.ID...)
			b = append(b, ',')
			b = a.Date.AppendFormat(b, dateLayout)
			b = append(b, ',')
			b = appendNum(b, a.Consumption)
			b = append(b, ',')
			b = appendNum(b, a.Expected)
			b = append(b, ',')
			b = appendNum(b, a.Score)
			b = append(b, ',')
			b = append(b, strings.Join(a.Tests, "+")...)
			b = append(b, ',')
			b = append(b, a.Kind...)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(a.Days), 10)
			b = append(b, '\n')
			w.Write(b)
		}
	}
}

// summaryInput is what the summary shows.
type summaryInput struct {
	res      processing.Result
	loc      *time.Location
	from, to time.Time
	notices  []string
	paths    []string
	verbose  bool
}

// summaryLines bounds the summary so it fits one screen.
const summaryLines = 40

// printSummary prints one aligned row per meter, its first warnings indented
// below it as the line budget allows, the config notices and the outputs.
func printSummary(w io.Writer, in summaryInput) {
	head := []string{"meter", "kind", "unit", "readings", "days", "max gap d", "extrap d", "anomalies", "warnings"}
	rows := make([][]string, 0, 1+len(in.res.Meters))
	rows = append(rows, head)
	events := 0
	for _, mr := range in.res.Meters {
		st := mr.Stats
		gap := "-"
		if st.LongestGap > 0 {
			gap = strconv.FormatFloat(st.LongestGap.Hours()/24, 'f', 1, 64)
		}
		readings := "-"
		if mr.Meter.Kind == processing.Physical {
			readings = strconv.Itoa(st.Readings)
		}
		rows = append(rows, []string{
			mr.Meter.ID, mr.Meter.Kind.String(), string(mr.Meter.Unit), readings,
			strconv.Itoa(knownDays(mr.Days)), gap, strconv.Itoa(st.ExtrapolatedDays),
			strconv.Itoa(len(mr.Anomalies)), strconv.Itoa(len(mr.Events)),
		})
		events += len(mr.Events)
	}
	// Text columns left, numbers right.
	table := tableLines(rows, map[int]bool{3: true, 4: true, 5: true, 6: true, 7: true, 8: true})

	// Lines other than warnings: title, table, notices (at most 3 + 1), outputs.
	shownNotices := min(len(in.notices), 3)
	fixed := 1 + len(table) + 1
	if len(in.notices) > 0 {
		fixed += 1 + shownNotices
	}
	budget := summaryLines - fixed
	if in.verbose {
		budget = events
	}
	alloc := allocateWarnings(in.res.Meters, budget)

	fmt.Fprintf(w, "meteragent process: %d meters, %s to %s (%s)\n",
		len(in.res.Meters), in.from.Format(dateLayout), in.to.Format(dateLayout), in.loc)
	fmt.Fprintln(w, table[0])
	hidden := 0
	for i, mr := range in.res.Meters {
		fmt.Fprintln(w, table[1+i])
		for j := range alloc[i] {
			ev := mr.Events[j]
			line := fmt.Sprintf("    %s %s: %s", ev.Time.In(in.loc).Format(dateLayout), ev.Kind, ev.Message)
			if rest := len(mr.Events) - alloc[i]; j == alloc[i]-1 && rest > 0 {
				line += fmt.Sprintf(" (+%d more)", rest)
			}
			fmt.Fprintln(w, line)
		}
		if alloc[i] == 0 {
			hidden += len(mr.Events)
		}
	}
	if hidden > 0 {
		fmt.Fprintf(w, "%d more warnings not listed; run with -v to list all\n", hidden)
	}
	if len(in.notices) > 0 {
		fmt.Fprintf(w, "config notices (%d):\n", len(in.notices))
		for _, n := range in.notices[:shownNotices] {
			fmt.Fprintln(w, "    "+n)
		}
		if len(in.notices) > shownNotices {
			fmt.Fprintf(w, "    (+%d more)\n", len(in.notices)-shownNotices)
		}
	}
	fmt.Fprintf(w, "wrote %s\n", strings.Join(in.paths, ", "))
}

// allocateWarnings shares a budget of lines among meters' events round-robin,
// so that every meter with warnings shows its first one before any shows two.
// One line is kept back for the "more warnings" note when not all fit.
func allocateWarnings(ms []processing.MeterResult, budget int) []int {
	alloc := make([]int, len(ms))
	total := 0
	for _, m := range ms {
		total += len(m.Events)
	}
	if total > budget {
		budget--
	}
	for more := true; more && budget > 0; {
		more = false
		for i, m := range ms {
			if budget == 0 {
				break
			}
			if alloc[i] < len(m.Events) {
				alloc[i]++
				budget--
				more = true
			}
		}
	}
	return alloc
}

func knownDays(days []processing.Day) int {
	n := 0
	for _, d := range days {
		if !math.IsNaN(d.Consumption) {
			n++
		}
	}
	return n
}
