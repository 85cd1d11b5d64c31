package main

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meteragent/meteragent/agent"
	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

var _ agent.Store = (*agentStore)(nil)

// agentStore adapts *storage.DB to agent.Store. It logs what storage reports
// but does not fail on (conflicts and rejected readings), counts what went
// through for the metrics, and remembers per meter the latest reading and
// result summary so that /status and /metrics need not read every stored
// result.
type agentStore struct {
	db  *storage.DB
	log *slog.Logger

	added, duplicates, conflicts, rejected, deadLetters atomic.Uint64

	mu      sync.Mutex
	last    map[string]processing.Reading // latest reading per meter
	results map[string]resultSummary      // per meter, since the last PutResult
}

// resultSummary is what status shows of a stored result.
type resultSummary struct {
	computed          time.Time
	anomalies, events int
}

// newAgentStore seeds the latest readings from the database.
func newAgentStore(db *storage.DB, log *slog.Logger) (*agentStore, error) {
	s := &agentStore{db: db, log: log, last: map[string]processing.Reading{}, results: map[string]resultSummary{}}
	stats, err := db.MeterStats()
	if err != nil {
		return nil, err
	}
	for _, st := range stats {
		s.last[st.Meter] = st.Last
	}
	return s, nil
}

func (s *agentStore) AddReadings(rs []processing.MeterReading) (int, error) {
	res, err := s.db.AddReadings(rs)
	if err != nil {
		return 0, err
	}
	s.added.Add(uint64(res.Added))
	s.duplicates.Add(uint64(res.Duplicates))
	s.conflicts.Add(uint64(len(res.Conflicts)))
	s.rejected.Add(uint64(len(res.Rejected)))
	for _, c := range res.Conflicts {
		s.log.Warn("reading conflicts with a stored one; kept the stored value",
			"meter", c.Meter, "time", c.Time, "stored", c.Stored, "offered", c.New)
	}
	for _, r := range res.Rejected {
		s.log.Warn("reading rejected, kept as a dead letter", "meter", r.Reading.Meter, "reason", r.Reason)
	}
	if res.Added > 0 {
		// Only stored readings may become the latest: a rejected one was
		// not stored, and a conflicting one lost to the stored value.
		refused := make(map[processing.MeterReading]bool, len(res.Rejected)+len(res.Conflicts))
		for _, r := range res.Rejected {
			refused[r.Reading] = true
		}
		for _, c := range res.Conflicts {
			refused[processing.MeterReading{Meter: c.Meter, Time: c.Time, Value: c.New}] = true
		}
		s.mu.Lock()
		for _, r := range rs {
			if refused[processing.MeterReading{Meter: r.Meter, Time: r.Time.UTC(), Value: r.Value}] || refused[r] {
				continue
			}
			if l, ok := s.last[r.Meter]; !ok || r.Time.After(l.Time) {
				s.last[r.Meter] = processing.Reading{Time: r.Time, Value: r.Value}
			}
		}
		s.mu.Unlock()
	}
	return res.Added, nil
}

func (s *agentStore) Readings(meter string) ([]processing.Reading, error) {
	return s.db.Readings(meter, time.Time{}, time.Time{})
}

func (s *agentStore) PutResult(r processing.MeterResult, computed time.Time) error {
	err := s.db.PutResult(r.Meter.ID, storage.StoredResult{
		Kind: r.Meter.Kind.String(), Unit: string(r.Meter.Unit),
		Days: r.Days, Months: r.Months, Anomalies: r.Anomalies, Events: r.Events,
		Computed: computed,
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.results[r.Meter.ID] = resultSummary{computed: computed, anomalies: len(r.Anomalies), events: len(r.Events)}
	s.mu.Unlock()
	return nil
}

func (s *agentStore) AddDeadLetter(source, topic string, payload []byte, received time.Time, reason string) error {
	err := s.db.AddDeadLetter(storage.DeadLetter{Source: source, Topic: topic, Payload: payload, Received: received, Reason: reason})
	if err == nil {
		s.deadLetters.Add(1)
	}
	return err
}

// lastReadings returns a copy of the latest reading per meter.
func (s *agentStore) lastReadings() map[string]processing.Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]processing.Reading, len(s.last))
	for k, v := range s.last {
		out[k] = v
	}
	return out
}

// summary returns the result summary of meter, reading the stored result
// once when this process has not computed it yet.
func (s *agentStore) summary(meter string) (resultSummary, bool, error) {
	s.mu.Lock()
	r, ok := s.results[meter]
	s.mu.Unlock()
	if ok {
		return r, true, nil
	}
	sr, found, err := s.db.Result(meter)
	if err != nil || !found {
		return resultSummary{}, false, err
	}
	r = resultSummary{computed: sr.Computed, anomalies: len(sr.Anomalies), events: len(sr.Events)}
	s.mu.Lock()
	if _, raced := s.results[meter]; !raced {
		s.results[meter] = r
	}
	s.mu.Unlock()
	return r, true, nil
}
