// Package agent runs meteragent as a service: sources (MQTT, importers) hand
// readings to the agent, which commits them to durable storage before they
// are acknowledged, and the processing core recomputes what they change.
//
//	MQTT ─┐                  ┌──────────────┐  dirty meters  ┌────────────┐
//	CSV  ─┼─► Ingest.Commit ─► Store (bbolt) ├───────────────► recompute  ├─► Store.PutResult
//	…    ─┘   (ack after)    └──────────────┘   debounced    │ processing │
//	                                          cron (full) ───►└────────────┘
//
// The agent speaks only the domain (package processing). Storage and adapters
// are reached through the small interfaces declared here; cmd/meteragent wires
// the concrete types in.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// Store is what the agent needs of durable storage.
type Store interface {
	// AddReadings commits readings durably (fsync) before it returns. It
	// returns how many were new; duplicates are not an error.
	AddReadings(rs []processing.MeterReading) (added int, err error)
	// Readings returns one meter's readings in time order.
	Readings(meter string) ([]processing.Reading, error)
	// PutResult replaces the stored result of one meter.
	PutResult(r processing.MeterResult, computed time.Time) error
	// AddDeadLetter keeps input that could not be used, with the reason.
	AddDeadLetter(source, topic string, payload []byte, received time.Time, reason string) error
}

// Source produces readings until ctx is done. It hands them to ingest and
// acknowledges them upstream only after ingest returned nil.
type Source interface {
	Run(ctx context.Context) error
}

// Schedule tells when the next full recompute is due (a parsed cron spec).
type Schedule interface {
	Next(time.Time) time.Time
}

// Options configure an Agent.
type Options struct {
	House processing.House
	Run   processing.RunOptions // To is set to today at each recompute

	// Debounce is how long the agent waits after a reading arrives before it
	// recomputes, so that a burst of readings costs one recompute.
	Debounce time.Duration
	// Schedule of full recomputes; nil means none.
	Schedule Schedule

	// TemperatureID names an outdoor temperature series (°C) in the store,
	// or "" for none. It is not a meter: at each recompute its readings
	// become Run.Profiles.Temperatures (when Run.Profiles is set), and its
	// readings alone trigger no recompute, because a sensor publishing every
	// few minutes would keep the agent recomputing; a meter's next reading
	// or the scheduled full recompute uses them.
	TemperatureID string

	Now    func() time.Time // nil = time.Now
	Logger *slog.Logger     // nil = discard
}

// Agent owns the recompute loop and the sources' goroutines.
type Agent struct {
	store   Store
	opt     Options
	graph   *graph
	log     *slog.Logger
	sources []Source

	kick chan struct{}

	mu        sync.Mutex
	dirty     map[string]bool
	lastRun   time.Time
	lastErr   error
	recomputs int
	failures  int
	lastTook  time.Duration
	totalTook time.Duration
}

// New returns an agent over store. Sources are added with AddSource before Run.
func New(store Store, opt Options) (*Agent, error) {
	if opt.House.Location == nil {
		return nil, processing.ErrNoLocation
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Debounce <= 0 {
		opt.Debounce = 2 * time.Second
	}
	g, err := newGraph(opt.House)
	if err != nil {
		return nil, err
	}
	return &Agent{
		store: store,
		opt:   opt,
		graph: g,
		log:   opt.Logger.With("component", "agent"),
		kick:  make(chan struct{}, 1),
		dirty: map[string]bool{},
	}, nil
}

// AddSource registers a source to run with the agent.
func (a *Agent) AddSource(s Source) { a.sources = append(a.sources, s) }

// Commit durably stores readings and marks their meters for recompute. It
// is what sources call before they acknowledge input.
func (a *Agent) Commit(ctx context.Context, rs []processing.MeterReading) error {
	_, err := a.Import(ctx, rs)
	return err
}

// Import is Commit that also reports how many readings were new (the rest
// were already stored).
func (a *Agent) Import(ctx context.Context, rs []processing.MeterReading) (added int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(rs) == 0 {
		return 0, nil
	}
	added, err = a.store.AddReadings(rs)
	if err != nil {
		return 0, fmt.Errorf("commit %d readings: %w", len(rs), err)
	}
	if added > 0 {
		marked := false
		a.mu.Lock()
		for _, r := range rs {
			if r.Meter != a.opt.TemperatureID {
				a.dirty[r.Meter], marked = true, true
			}
		}
		a.mu.Unlock()
		if !marked {
			return added, nil
		}
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
	return added, nil
}

// DeadLetter keeps input that could not be used.
func (a *Agent) DeadLetter(_ context.Context, topic string, payload []byte, received time.Time, reason string) error {
	return a.store.AddDeadLetter("mqtt", topic, payload, received, reason)
}

// Status is the agent's own view of its work.
type Status struct {
	LastRecompute time.Time
	LastError     string
	Recomputes    int           // successful recomputes since New
	Failures      int           // failed recomputes since New
	LastDuration  time.Duration // of the last successful recompute
	TotalDuration time.Duration // of every recompute, successful or not
	Pending       int           // meters waiting for a recompute
}

// Status reports the recompute loop's state.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{
		LastRecompute: a.lastRun, Recomputes: a.recomputs, Failures: a.failures,
		LastDuration: a.lastTook, TotalDuration: a.totalTook, Pending: len(a.dirty),
	}
	if a.lastErr != nil {
		s.LastError = a.lastErr.Error()
	}
	return s
}

// Run starts the sources, recomputes everything once and then runs the
// recompute loop until ctx is done or a source fails. The sources start
// first so that input is taken (and acknowledged) while the first recompute
// runs. A source failing stops the agent: systemd restarts it, and nothing
// acknowledged is lost because acknowledgements follow commits.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, len(a.sources))
	for _, s := range a.sources {
		wg.Go(func() {
			if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- err
				cancel()
			}
		})
	}
	if err := a.RecomputeAll(); err != nil {
		a.log.Error("initial recompute failed", "err", err)
	}
	a.loop(ctx)
	wg.Wait() // sources finish their in-flight commits before we return
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

// loop waits for dirty meters (debounced) and for the schedule.
func (a *Agent) loop(ctx context.Context) {
	var debounce <-chan time.Time
	var debounceTimer *time.Timer
	next := a.nextScheduled()
	var cronTimer *time.Timer
	var cronC <-chan time.Time
	if !next.IsZero() {
		cronTimer = time.NewTimer(next.Sub(a.opt.Now()))
		cronC = cronTimer.C
		defer cronTimer.Stop()
	}
	for {
		select {
		case <-ctx.Done():
			if debounceTimer != nil {
				debounceTimer.Stop()
			}
			return
		case <-a.kick:
			if debounce == nil {
				debounceTimer = time.NewTimer(a.opt.Debounce)
				debounce = debounceTimer.C
			}
		case <-debounce:
			debounce, debounceTimer = nil, nil
			if err := a.RecomputeDirty(); err != nil {
				a.log.Error("recompute failed", "err", err)
			}
		case <-cronC:
			if err := a.RecomputeAll(); err != nil {
				a.log.Error("scheduled recompute failed", "err", err)
			}
			next = a.nextScheduled()
			cronTimer.Reset(next.Sub(a.opt.Now()))
		}
	}
}

func (a *Agent) nextScheduled() time.Time {
	if a.opt.Schedule == nil {
		return time.Time{}
	}
	return a.opt.Schedule.Next(a.opt.Now())
}

// RecomputeAll recomputes every meter of the house.
func (a *Agent) RecomputeAll() error {
	a.mu.Lock()
	a.dirty = map[string]bool{}
	a.mu.Unlock()
	return a.recompute(a.graph.all())
}

// RecomputeDirty recomputes the meters that received readings since the
// last recompute, and every master and virtual meter that depends on them.
func (a *Agent) RecomputeDirty() error {
	a.mu.Lock()
	dirty := a.dirty
	a.dirty = map[string]bool{}
	a.mu.Unlock()
	if len(dirty) == 0 {
		return nil
	}
	ids := make([]string, 0, len(dirty))
	for id := range dirty {
		ids = append(ids, id)
	}
	return a.recompute(a.graph.affected(ids))
}

// recompute runs processing over the meters in ids (which the graph closed
// over their inputs) and stores the results of the meters in ids.
func (a *Agent) recompute(ids map[string]bool) error {
	if len(ids) == 0 {
		return nil
	}
	now := a.opt.Now()
	start := time.Now() // wall time for the duration; Now may be a fixed test clock
	defer func() {
		a.mu.Lock()
		a.totalTook += time.Since(start)
		a.mu.Unlock()
	}()
	house := a.graph.subHouse(ids)
	readings := make(map[string][]processing.Reading, len(house.Meters))
	for _, m := range house.Meters {
		if m.Kind != processing.Physical {
			continue
		}
		rs, err := a.store.Readings(m.ID)
		if err != nil {
			return a.fail(fmt.Errorf("read %s: %w", m.ID, err))
		}
		readings[m.ID] = rs
	}
	opt := a.opt.Run
	if err := a.withTemperatures(&opt); err != nil {
		return a.fail(err)
	}
	loc := house.Location
	y, mo, d := now.In(loc).Date()
	opt.To = time.Date(y, mo, d, 0, 0, 0, 0, loc)
	res, err := processing.Process(house, readings, opt)
	if err != nil {
		return a.fail(err)
	}
	for _, mr := range res.Meters {
		if !ids[mr.Meter.ID] {
			continue
		}
		if err := a.store.PutResult(mr, now); err != nil {
			return a.fail(fmt.Errorf("store result of %s: %w", mr.Meter.ID, err))
		}
	}
	took := time.Since(start)
	a.mu.Lock()
	a.lastRun, a.lastErr, a.lastTook = now, nil, took
	a.recomputs++
	a.mu.Unlock()
	a.log.Debug("recomputed", "meters", len(ids), "took", took)
	return nil
}

// withTemperatures gives opt's profiles the stored temperature series. The
// options' Profiles are copied, not changed: they are shared by every run.
func (a *Agent) withTemperatures(opt *processing.RunOptions) error {
	id := a.opt.TemperatureID
	if id == "" || opt.Profiles == nil {
		return nil
	}
	ts, err := a.store.Readings(id)
	if err != nil {
		return fmt.Errorf("read temperature series %s: %w", id, err)
	}
	po := *opt.Profiles
	po.Temperatures = ts
	opt.Profiles = &po
	return nil
}

func (a *Agent) fail(err error) error {
	a.mu.Lock()
	a.lastErr = err
	a.failures++
	a.mu.Unlock()
	return err
}
