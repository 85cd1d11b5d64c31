package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/meteragent/meteragent/agent"
	"github.com/meteragent/meteragent/agent/mqtt"
	"github.com/meteragent/meteragent/processing"
)

// maxImportBytes bounds a CSV posted to /import; years of readings of a
// whole house are a few MB.
const maxImportBytes = 256 << 20

// importBatch is how many readings one commit of an import holds: large
// enough that fsyncs do not dominate, small enough to bound one transaction.
const importBatch = 50000

// api is the agent's small HTTP interface: status, export, import, health
// and metrics. It listens on loopback by default and has no authentication.
type api struct {
	st     *agentStore
	agent  *agent.Agent
	sub    *mqtt.Subscriber // nil without MQTT
	broker string
	s      *setup
	now    func() time.Time
	log    *slog.Logger
}

func (a *api) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /status", a.status)
	mux.HandleFunc("GET /export", a.export)
	mux.HandleFunc("POST /import", a.importCSV)
	mux.Handle("GET /metrics", metricsHandler(a.st, a.agent, a.sub))
	return mux
}

func (a *api) status(w http.ResponseWriter, _ *http.Request) {
	now := a.now()
	rep, err := collectStatus(a.st, a.s.house, a.s.cfg.TemperatureID(), now)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, err)
		return
	}
	rep.Source = "agent"
	var next time.Time
	if a.s.schedule != nil {
		next = a.s.schedule.Next(now)
	}
	rep.Agent = newAgentStatus(a.agent.Status(), next, a.s.loc)
	if a.sub != nil {
		rep.MQTT = newMQTTStatus(a.broker, a.sub.Stats())
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

func (a *api) export(w http.ResponseWriter, r *http.Request) {
	what, meter := r.URL.Query().Get("what"), r.URL.Query().Get("meter")
	if !validExport(what) {
		a.fail(w, http.StatusBadRequest, fmt.Errorf("what=%q: want one of %v", what, exportKinds))
		return
	}
	tempID := a.s.cfg.TemperatureID()
	if err := checkExport(a.s.house, tempID, what, meter); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	if err := writeExport(w, a.st.db, a.s.house, tempID, what, meter); err != nil {
		// The header is out; a broken body is all that can tell the client.
		a.log.Error("export failed", "what", what, "error", err)
		panic(http.ErrAbortHandler)
	}
}

// importResult is the JSON answer of /import and what `import` prints.
type importResult struct {
	Readings int `json:"readings"` // in the file (repeats with the same value dropped)
	Added    int `json:"added"`    // newly stored
}

// importCSV reads a readings CSV with the process command's reader (same
// validation: a file with any bad line is refused whole) and commits it
// through the agent, which recomputes what it changes.
func (a *api) importCSV(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "request body"
	}
	body := http.MaxBytesReader(w, r.Body, maxImportBytes)
	// The declared length sizes the reader's array; a client's claim beyond
	// what the body may hold reserves no more than that.
	size := min(r.ContentLength, maxImportBytes)
	readings, err := readReadings(body, readingsInput{name: name, loc: a.s.loc, kinds: readingKinds(a.s.cfg, a.s.house), size: size})
	if err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	res, err := importReadings(r.Context(), a.agent, readings)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, err)
		return
	}
	a.log.Info("imported readings", "file", name, "readings", res.Readings, "added", res.Added)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// importReadings commits readings through the agent in batches.
func importReadings(ctx context.Context, a *agent.Agent, readings map[string][]processing.Reading) (importResult, error) {
	var res importResult
	batch := make([]processing.MeterReading, 0, importBatch)
	flush := func() error {
		added, err := a.Import(ctx, batch)
		res.Added += added
		batch = batch[:0]
		return err
	}
	for _, id := range meterIDs(readings) {
		for _, r := range readings[id] {
			batch = append(batch, processing.MeterReading{Meter: id, Time: r.Time, Value: r.Value})
			res.Readings++
			if len(batch) == importBatch {
				if err := flush(); err != nil {
					return res, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	return res, nil
}

// apiError is the JSON body of a failed request.
type apiError struct {
	Error string `json:"error"`
}

func (a *api) fail(w http.ResponseWriter, code int, err error) {
	if code >= 500 {
		a.log.Error("request failed", "error", err)
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		code = http.StatusRequestEntityTooLarge
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(apiError{Error: err.Error()})
}
