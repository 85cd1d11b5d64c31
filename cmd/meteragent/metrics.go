package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/VictoriaMetrics/metrics"

	"github.com/meteragent/meteragent/agent"
	"github.com/meteragent/meteragent/agent/mqtt"
)

func init() {
	// # HELP and # TYPE lines, so that scrapers know counters from gauges.
	metrics.ExposeMetadata(true)
}

// metricsHandler serves the agent's metrics in the Prometheus text format.
// Every value is read from the counters the parts already keep, at scrape
// time, so metrics add no work to the ingest path. sub may be nil.
func metricsHandler(st *agentStore, a *agent.Agent, sub *mqtt.Subscriber) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w := bufio.NewWriter(rw)
		defer w.Flush()
		writeMetrics(w, st, a, sub)
		metrics.WriteProcessMetrics(w)
	})
}

// writeMetrics writes meteragent's own metrics.
func writeMetrics(w io.Writer, st *agentStore, a *agent.Agent, sub *mqtt.Subscriber) {
	counter := func(name string, v uint64) { metrics.WriteCounterUint64(w, "meteragent_"+name, v) }
	gauge := func(name string, v float64) { metrics.WriteGaugeFloat64(w, "meteragent_"+name, v) }

	counter("readings_added_total", st.added.Load())          // newly stored, from any source
	counter("readings_duplicate_total", st.duplicates.Load()) // offered again with the stored value
	counter("readings_conflict_total", st.conflicts.Load())   // refused: their instant holds another value
	counter("readings_rejected_total", st.rejected.Load())    // storage could not use them: dead letters
	counter("dead_letters_total", st.deadLetters.Load())      // payloads recorded as dead letters by sources

	s := a.Status()
	counter("recomputes_total", uint64(s.Recomputes))
	counter("recompute_failures_total", uint64(s.Failures))
	metrics.WriteCounterFloat64(w, "meteragent_recompute_seconds_total", s.TotalDuration.Seconds())
	gauge("last_recompute_duration_seconds", s.LastDuration.Seconds())
	last := 0.0
	if !s.LastRecompute.IsZero() {
		last = float64(s.LastRecompute.UnixNano()) / 1e9
	}
	gauge("last_recompute_timestamp_seconds", last)
	gauge("recompute_pending_meters", float64(s.Pending)) // new readings wait for the debounced recompute

	if sub != nil {
		m := sub.Stats()
		counter("mqtt_messages_received_total", m.Received) // redeliveries count again
		counter("mqtt_readings_committed_total", m.Committed)
		counter("mqtt_messages_acked_total", m.Acked)
		counter("mqtt_dead_letters_total", m.DeadLettered)
		counter("mqtt_messages_ignored_total", m.Ignored) // acknowledged without a reading
		counter("mqtt_commit_errors_total", m.CommitErrors)
		counter("mqtt_reconnects_total", m.Reconnects) // forced for redelivery
	}

	// The latest reading of every meter, as two labelled gauge families.
	lr := st.lastReadings()
	ids := slices.Sorted(maps.Keys(lr))
	metrics.WriteMetadataIfNeeded(w, "meteragent_meter_last_reading_timestamp_seconds", "gauge")
	for _, id := range ids {
		fmt.Fprintf(w, "meteragent_meter_last_reading_timestamp_seconds{meter=%s} %g\n", labelValue(id), float64(lr[id].Time.UnixNano())/1e9)
	}
	metrics.WriteMetadataIfNeeded(w, "meteragent_meter_last_reading_value", "gauge")
	for _, id := range ids {
		fmt.Fprintf(w, "meteragent_meter_last_reading_value{meter=%s} %g\n", labelValue(id), lr[id].Value)
	}
}

// labelValue quotes a label value as the Prometheus text format wants it:
// backslash, double quote and line feed escaped, everything else as is.
func labelValue(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
