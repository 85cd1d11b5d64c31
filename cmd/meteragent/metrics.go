package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meteragent/meteragent/agent"
	"github.com/meteragent/meteragent/agent/mqtt"
)

// metricsHandler serves the agent's metrics in the Prometheus text format.
// Every value is read from the counters the parts already keep, at scrape
// time, so metrics add no work to the ingest path. sub may be nil.
func metricsHandler(st *agentStore, a *agent.Agent, sub *mqtt.Subscriber) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "meteragent", Name: name, Help: help}, f))
	}
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "meteragent", Name: name, Help: help}, f))
	}
	counter("readings_added_total", "Readings newly stored, from any source.", func() float64 { return float64(st.added.Load()) })
	counter("readings_duplicate_total", "Readings offered again with the stored value (redeliveries, re-imports).", func() float64 { return float64(st.duplicates.Load()) })
	counter("readings_conflict_total", "Readings refused because their instant holds another value.", func() float64 { return float64(st.conflicts.Load()) })
	counter("readings_rejected_total", "Readings storage could not use, kept as dead letters.", func() float64 { return float64(st.rejected.Load()) })
	counter("dead_letters_total", "Payloads recorded as dead letters by sources.", func() float64 { return float64(st.deadLetters.Load()) })

	counter("recomputes_total", "Successful recomputes.", func() float64 { return float64(a.Status().Recomputes) })
	counter("recompute_failures_total", "Failed recomputes.", func() float64 { return float64(a.Status().Failures) })
	counter("recompute_seconds_total", "Time spent recomputing.", func() float64 { return a.Status().TotalDuration.Seconds() })
	gauge("last_recompute_duration_seconds", "Duration of the last successful recompute.", func() float64 { return a.Status().LastDuration.Seconds() })
	gauge("last_recompute_timestamp_seconds", "When the last successful recompute ran (Unix time).", func() float64 {
		if t := a.Status().LastRecompute; !t.IsZero() {
			return float64(t.UnixNano()) / 1e9
		}
		return 0
	})
	gauge("recompute_pending_meters", "Meters with new readings waiting for the debounced recompute.", func() float64 { return float64(a.Status().Pending) })

	if sub != nil {
		stat := func(f func(mqtt.Stats) uint64) func() float64 {
			return func() float64 { return float64(f(sub.Stats())) }
		}
		counter("mqtt_messages_received_total", "MQTT messages delivered by the broker (redeliveries count again).", stat(func(s mqtt.Stats) uint64 { return s.Received }))
		counter("mqtt_readings_committed_total", "Readings from MQTT durably committed.", stat(func(s mqtt.Stats) uint64 { return s.Committed }))
		counter("mqtt_messages_acked_total", "MQTT messages acknowledged to the broker.", stat(func(s mqtt.Stats) uint64 { return s.Acked }))
		counter("mqtt_dead_letters_total", "MQTT messages recorded as dead letters.", stat(func(s mqtt.Stats) uint64 { return s.DeadLettered }))
		counter("mqtt_messages_ignored_total", "MQTT messages acknowledged without a reading.", stat(func(s mqtt.Stats) uint64 { return s.Ignored }))
		counter("mqtt_commit_errors_total", "Failed commits (their messages stay unacknowledged).", stat(func(s mqtt.Stats) uint64 { return s.CommitErrors }))
		counter("mqtt_reconnects_total", "Reconnections forced for redelivery.", stat(func(s mqtt.Stats) uint64 { return s.Reconnects }))
	}
	reg.MustRegister(lastReadingCollector{st})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

var (
	lastReadingTime = prometheus.NewDesc("meteragent_meter_last_reading_timestamp_seconds",
		"Time of the meter's latest stored reading (Unix time).", []string{"meter"}, nil)
	lastReadingValue = prometheus.NewDesc("meteragent_meter_last_reading_value",
		"Register value of the meter's latest stored reading, in the meter's unit.", []string{"meter"}, nil)
)

// lastReadingCollector exports the latest reading of every meter.
type lastReadingCollector struct{ st *agentStore }

func (c lastReadingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lastReadingTime
	ch <- lastReadingValue
}

func (c lastReadingCollector) Collect(ch chan<- prometheus.Metric) {
	for meter, r := range c.st.lastReadings() {
		ch <- prometheus.MustNewConstMetric(lastReadingTime, prometheus.GaugeValue, float64(r.Time.UnixNano())/1e9, meter)
		ch <- prometheus.MustNewConstMetric(lastReadingValue, prometheus.GaugeValue, r.Value, meter)
	}
}
