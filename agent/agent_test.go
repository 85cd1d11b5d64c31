package agent

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// memStore is an in-memory Store for the agent's own tests; storage has its
// own tests against real bbolt.
type memStore struct {
	mu       sync.Mutex
	readings map[string]map[int64]float64
	results  map[string]processing.MeterResult
	puts     map[string]int
	dead     []string
}

func newMemStore() *memStore {
	return &memStore{readings: map[string]map[int64]float64{}, results: map[string]processing.MeterResult{}, puts: map[string]int{}}
}

func (s *memStore) AddReadings(rs []processing.MeterReading) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	added := 0
	for _, r := range rs {
		m := s.readings[r.Meter]
		if m == nil {
			m = map[int64]float64{}
			s.readings[r.Meter] = m
		}
		if _, ok := m[r.Time.UnixNano()]; !ok {
			m[r.Time.UnixNano()] = r.Value
			added++
		}
	}
	return added, nil
}

func (s *memStore) Readings(meter string) ([]processing.Reading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []processing.Reading
	for ns, v := range s.readings[meter] {
		out = append(out, processing.Reading{Time: time.Unix(0, ns).UTC(), Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func (s *memStore) PutResult(r processing.MeterResult, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results[r.Meter.ID] = r
	s.puts[r.Meter.ID]++
	return nil
}

func (s *memStore) AddDeadLetter(_, topic string, _ []byte, _ time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = append(s.dead, topic+": "+reason)
	return nil
}

func (s *memStore) putCount(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts[id]
}

// testHouse: two physical meters, a master over both (a replacement) and a
// virtual meter that subtracts a third physical meter from the master.
func testHouse(loc *time.Location) processing.House {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, loc) }
	return processing.House{
		Location:    loc,
		GasKWhPerM3: 10,
		Meters: []processing.Meter{
			{ID: "old", Kind: processing.Physical, Unit: processing.KWh, Installed: d(2024, 1, 1), Removed: d(2024, 1, 15)},
			{ID: "new", Kind: processing.Physical, Unit: processing.KWh, Installed: d(2024, 1, 16)},
			{ID: "sub", Kind: processing.Physical, Unit: processing.KWh, Installed: d(2024, 1, 1)},
			{ID: "total", Kind: processing.Master, Unit: processing.KWh, Periods: []processing.Period{
				{Start: d(2024, 1, 1), End: d(2024, 1, 15), Sources: []string{"old"}, SourceUnit: processing.KWh},
				{Start: d(2024, 1, 16), Sources: []string{"new"}, SourceUnit: processing.KWh, ApplyOffset: true},
			}},
			{ID: "rest", Kind: processing.Virtual, Unit: processing.KWh, Base: "total", Subtract: []processing.Subtrahend{{ID: "sub"}}},
		},
	}
}

func TestGraphAffected(t *testing.T) {
	g, err := newGraph(testHouse(time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"new"}, []string{"new", "rest", "total"}},
		{[]string{"sub"}, []string{"rest", "sub"}},
		{[]string{"rest"}, []string{"rest"}},
		{[]string{"nosuch"}, nil},
	}
	for _, tt := range tests {
		var got []string
		for id := range g.affected(tt.in) {
			got = append(got, id)
		}
		sort.Strings(got)
		if len(got) != len(tt.want) {
			t.Errorf("affected(%v) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("affected(%v) = %v, want %v", tt.in, got, tt.want)
				break
			}
		}
	}
	h := g.subHouse(map[string]bool{"rest": true})
	if len(h.Meters) != 5 {
		t.Errorf("subHouse(rest) has %d meters, want all 5 inputs", len(h.Meters))
	}
	h = g.subHouse(map[string]bool{"sub": true})
	if len(h.Meters) != 1 || h.Meters[0].ID != "sub" {
		t.Errorf("subHouse(sub) = %v, want only sub", h.Meters)
	}
}

func TestGraphUnknownReference(t *testing.T) {
	h := testHouse(time.UTC)
	h.Meters[4].Subtract = append(h.Meters[4].Subtract, processing.Subtrahend{ID: "ghost"})
	if _, err := newGraph(h); err == nil {
		t.Fatal("newGraph accepted a virtual meter that subtracts an unknown meter")
	}
}

// TestCommitRecomputesAffected checks the live path: a reading committed for
// one meter recomputes it and its dependents (debounced into one run), and
// leaves unrelated meters alone.
func TestCommitRecomputesAffected(t *testing.T) {
	loc := time.UTC
	store := newMemStore()
	now := time.Date(2024, 2, 1, 12, 0, 0, 0, loc)
	a, err := New(store, Options{
		House:    testHouse(loc),
		Run:      processing.RunOptions{From: time.Date(2024, 1, 1, 0, 0, 0, 0, loc), MaxExtrapolationDays: -1},
		Debounce: 20 * time.Millisecond,
		Now:      func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	waitFor(t, func() bool { return a.Status().Recomputes >= 1 }) // the initial full run
	before := map[string]int{}
	for _, id := range []string{"old", "new", "sub", "total", "rest"} {
		before[id] = store.putCount(id)
	}
	rs := []processing.MeterReading{
		{Meter: "new", Time: time.Date(2024, 1, 16, 8, 0, 0, 0, loc), Value: 5},
		{Meter: "new", Time: time.Date(2024, 1, 20, 8, 0, 0, 0, loc), Value: 13},
		{Meter: "new", Time: time.Date(2024, 1, 30, 8, 0, 0, 0, loc), Value: 33},
	}
	if err := a.Commit(ctx, rs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.Status().Recomputes >= 2 })
	for id, wantMore := range map[string]bool{"new": true, "total": true, "rest": true, "old": false, "sub": false} {
		got := store.putCount(id) > before[id]
		if got != wantMore {
			t.Errorf("meter %s recomputed = %v, want %v", id, got, wantMore)
		}
	}
	store.mu.Lock()
	days := store.results["new"].Days
	store.mu.Unlock()
	if len(days) == 0 {
		t.Fatal("no days stored for meter new")
	}
	// The committing the same readings again adds nothing and triggers nothing.
	n := a.Status().Recomputes
	if err := a.Commit(ctx, rs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := a.Status().Recomputes; got != n {
		t.Errorf("duplicate commit caused %d recomputes", got-n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// everySchedule fires every d after the time it is asked about.
type everySchedule time.Duration

func (e everySchedule) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// TestScheduleRecomputesAll: the schedule recomputes every meter, without
// any new reading.
func TestScheduleRecomputesAll(t *testing.T) {
	store := newMemStore()
	a, err := New(store, Options{
		House:    testHouse(time.UTC),
		Run:      processing.RunOptions{From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		Schedule: everySchedule(20 * time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, func() bool { return a.Status().Recomputes >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"old", "new", "sub", "total", "rest"} {
		if store.putCount(id) < 3 {
			t.Errorf("meter %s stored %d times, want one per scheduled run", id, store.putCount(id))
		}
	}
}

func TestImportCountsAdded(t *testing.T) {
	store := newMemStore()
	a, err := New(store, Options{House: testHouse(time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC)
	rs := []processing.MeterReading{{Meter: "new", Time: t0, Value: 1}, {Meter: "sub", Time: t0, Value: 2}}
	for i, want := range []int{2, 0} {
		added, err := a.Import(t.Context(), rs)
		if err != nil || added != want {
			t.Errorf("import %d: added %d, %v; want %d", i, added, err, want)
		}
	}
	if got := a.Status().Pending; got != 2 {
		t.Errorf("pending meters = %d, want 2 (new and sub)", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := a.Import(ctx, rs); err == nil {
		t.Error("Import with a done context succeeded")
	}
}

// failingStore cannot read readings.
type failingStore struct{ *memStore }

func (failingStore) Readings(string) ([]processing.Reading, error) {
	return nil, errors.New("disk on fire")
}

func TestRecomputeFailureReported(t *testing.T) {
	a, err := New(failingStore{newMemStore()}, Options{House: testHouse(time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RecomputeAll(); err == nil {
		t.Fatal("RecomputeAll succeeded on a failing store")
	}
	st := a.Status()
	if st.Failures != 1 || st.Recomputes != 0 || !strings.Contains(st.LastError, "disk on fire") || st.TotalDuration <= 0 {
		t.Errorf("status = %+v, want one failure with the store's error", st)
	}
}
