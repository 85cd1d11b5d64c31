package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meteragent/meteragent/agent"
	"github.com/meteragent/meteragent/agent/mqtt"
	"github.com/meteragent/meteragent/processing"
)

// statusReport is the JSON of GET /status and what `meteragent status`
// prints.
type statusReport struct {
	Generated time.Time     `json:"generated"`
	Source    string        `json:"source"` // "agent" (live) or "database" (agent not running)
	Database  string        `json:"database"`
	Timezone  string        `json:"timezone"`
	Meters    []meterStatus `json:"meters"`
	// Temperature is the configured outdoor temperature series, nil
	// without one; it is a series of readings, not a meter.
	Temperature *temperatureStatus `json:"outdoor_temperature,omitempty"`
	DeadLetters map[string]int     `json:"dead_letters"` // by source
	Agent       *agentStatus       `json:"agent,omitempty"`
	MQTT        *mqttStatus        `json:"mqtt,omitempty"`
}

type meterStatus struct {
	ID            string       `json:"id"`
	Kind          string       `json:"kind"`
	Unit          string       `json:"unit"`
	LastReading   *readingJSON `json:"last_reading,omitempty"`
	ReadingsToday int          `json:"readings_today"` // since local midnight
	Readings      int          `json:"readings"`
	LastRecompute *time.Time   `json:"last_recompute,omitempty"`
	Anomalies     int          `json:"anomalies"`
	Events        int          `json:"events"`
}

type temperatureStatus struct {
	ID          string       `json:"id"`
	LastReading *readingJSON `json:"last_reading,omitempty"` // °C
	Readings    int          `json:"readings"`
}

type readingJSON struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

type agentStatus struct {
	LastRecompute   *time.Time `json:"last_recompute,omitempty"`
	LastDurationSec float64    `json:"last_duration_seconds"`
	Recomputes      int        `json:"recomputes"`
	Failures        int        `json:"failures"`
	Pending         int        `json:"pending"`
	LastError       string     `json:"last_error,omitempty"`
	NextScheduled   *time.Time `json:"next_scheduled,omitempty"`
}

type mqttStatus struct {
	Broker       string `json:"broker"`
	Received     uint64 `json:"received"`
	Committed    uint64 `json:"committed"`
	Acked        uint64 `json:"acked"`
	DeadLettered uint64 `json:"dead_lettered"`
	Ignored      uint64 `json:"ignored"`
	CommitErrors uint64 `json:"commit_errors"`
	Reconnects   uint64 `json:"reconnects"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// collectStatus reads the per-meter part of the status, and that of the
// outdoor temperature series tempID ("" for none), from the store.
func collectStatus(st *agentStore, house processing.House, tempID string, now time.Time) (statusReport, error) {
	loc := house.Location
	y, m, d := now.In(loc).Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, loc)
	rep := statusReport{Generated: now.In(loc), Database: st.db.Path(), Timezone: loc.String()}
	stats, err := st.db.MeterStats()
	if err != nil {
		return rep, err
	}
	counts := make(map[string]int, len(stats))
	for _, s := range stats {
		counts[s.Meter] = s.Count
	}
	last := st.lastReadings()
	meters, _ := exportMeters(house, "") // physical first, as process prints them
	for _, mt := range meters {
		ms := meterStatus{ID: mt.ID, Kind: mt.Kind.String(), Unit: string(mt.Unit)}
		if mt.Kind == processing.Physical {
			ms.Readings = counts[mt.ID]
			if r, ok := last[mt.ID]; ok {
				ms.LastReading = &readingJSON{Time: r.Time.In(loc), Value: r.Value}
			}
			if ms.ReadingsToday, err = st.db.CountReadingsSince(mt.ID, midnight); err != nil {
				return rep, err
			}
		}
		sum, ok, err := st.summary(mt.ID)
		if err != nil {
			return rep, err
		}
		if ok {
			ms.LastRecompute = timePtr(sum.computed.In(loc))
			ms.Anomalies, ms.Events = sum.anomalies, sum.events
		}
		rep.Meters = append(rep.Meters, ms)
	}
	if tempID != "" {
		ts := &temperatureStatus{ID: tempID, Readings: counts[tempID]}
		if r, ok := last[tempID]; ok {
			ts.LastReading = &readingJSON{Time: r.Time.In(loc), Value: r.Value}
		}
		rep.Temperature = ts
	}
	if rep.DeadLetters, err = st.db.DeadLetterSources(); err != nil {
		return rep, err
	}
	return rep, nil
}

func newAgentStatus(s agent.Status, next time.Time, loc *time.Location) *agentStatus {
	a := &agentStatus{
		LastDurationSec: s.LastDuration.Seconds(), Recomputes: s.Recomputes, Failures: s.Failures,
		Pending: s.Pending, LastError: s.LastError,
	}
	if !s.LastRecompute.IsZero() {
		a.LastRecompute = timePtr(s.LastRecompute.In(loc))
	}
	if !next.IsZero() {
		a.NextScheduled = timePtr(next.In(loc))
	}
	return a
}

func newMQTTStatus(broker string, s mqtt.Stats) *mqttStatus {
	return &mqttStatus{
		Broker: broker, Received: s.Received, Committed: s.Committed, Acked: s.Acked,
		DeadLettered: s.DeadLettered, Ignored: s.Ignored, CommitErrors: s.CommitErrors, Reconnects: s.Reconnects,
	}
}

// printStatus prints the report as an aligned table, one line per meter,
// and a few summary lines below it.
func printStatus(w io.Writer, r statusReport) {
	const stamp = "2006-01-02 15:04"
	head := []string{"meter", "kind", "unit", "last reading", "value", "today", "readings", "recomputed", "anomalies", "warnings"}
	rows := [][]string{head}
	for _, m := range r.Meters {
		last, value, today, readings := "-", "-", "-", "-"
		if m.Kind == processing.Physical.String() {
			today, readings = strconv.Itoa(m.ReadingsToday), strconv.Itoa(m.Readings)
			if m.LastReading != nil {
				last = m.LastReading.Time.Format(stamp)
				value = formatValue(m.LastReading.Value)
			}
		}
		recomputed := "never"
		if m.LastRecompute != nil {
			recomputed = m.LastRecompute.Format(stamp)
		}
		rows = append(rows, []string{m.ID, m.Kind, m.Unit, last, value, today, readings, recomputed,
			strconv.Itoa(m.Anomalies), strconv.Itoa(m.Events)})
	}
	printTable(w, rows, map[int]bool{4: true, 5: true, 6: true, 8: true, 9: true})
	if t := r.Temperature; t != nil {
		if t.LastReading == nil {
			fmt.Fprintf(w, "outdoor temperature (%s): no readings yet\n", t.ID)
		} else {
			fmt.Fprintf(w, "outdoor temperature (%s): %s °C at %s, %d readings\n",
				t.ID, formatValue(t.LastReading.Value), t.LastReading.Time.Format(stamp), t.Readings)
		}
	}

	if len(r.DeadLetters) == 0 {
		fmt.Fprintln(w, "dead letters: none")
	} else {
		var parts []string
		for _, src := range slices.Sorted(maps.Keys(r.DeadLetters)) {
			parts = append(parts, fmt.Sprintf("%s %d", src, r.DeadLetters[src]))
		}
		fmt.Fprintf(w, "dead letters: %s\n", strings.Join(parts, ", "))
	}
	switch a := r.Agent; {
	case r.Source != "agent":
		fmt.Fprintf(w, "agent: not running (read from %s)\n", r.Database)
	case a != nil:
		line := fmt.Sprintf("agent: %d recomputes", a.Recomputes)
		if a.LastRecompute != nil {
			line += fmt.Sprintf(", last %s (%.1fs)", a.LastRecompute.Format(time.DateTime), a.LastDurationSec)
		}
		if a.Pending > 0 {
			line += fmt.Sprintf(", %d meters pending", a.Pending)
		}
		if a.NextScheduled != nil {
			line += ", next full " + a.NextScheduled.Format(stamp)
		}
		if a.Failures > 0 {
			line += fmt.Sprintf(", %d failed", a.Failures)
		}
		fmt.Fprintln(w, line)
		if a.LastError != "" {
			fmt.Fprintf(w, "agent: last error: %s\n", a.LastError)
		}
	}
	if q := r.MQTT; q != nil {
		fmt.Fprintf(w, "mqtt %s: %d received, %d readings committed, %d dead letters, %d ignored, %d commit errors, %d reconnects\n",
			q.Broker, q.Received, q.Committed, q.DeadLettered, q.Ignored, q.CommitErrors, q.Reconnects)
	}
}

// printTable prints rows with aligned columns (see tableLines).
func printTable(w io.Writer, rows [][]string, right map[int]bool) {
	for _, l := range tableLines(rows, right) {
		fmt.Fprintln(w, l)
	}
}

// tableLines aligns rows into columns two blanks apart; columns in right are
// right-aligned (numbers).
func tableLines(rows [][]string, right map[int]bool) []string {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	lines := make([]string, 0, len(rows))
	for _, r := range rows {
		var sb strings.Builder
		for i, c := range r {
			if i > 0 {
				sb.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if right[i] {
				sb.WriteString(pad + c)
			} else {
				sb.WriteString(c + pad)
			}
		}
		lines = append(lines, strings.TrimRight(sb.String(), " "))
	}
	return lines
}
