package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/meteragent/meteragent/agent"
	"github.com/meteragent/meteragent/agent/mqtt"
)

// Timeouts of the service.
const (
	// lockTimeout bounds the wait for the database lock at start: a second
	// agent on the same file fails fast instead of hanging.
	lockTimeout = time.Second
	// httpShutdownTimeout bounds the wait for requests in flight on stop.
	httpShutdownTimeout = time.Second
)

// serviceGCPercent is the agent's GOGC unless the environment sets one.
const serviceGCPercent = 50

var _ mqtt.Committer = (*agent.Agent)(nil)

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run", "[--config DIR]")
	dir := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := loadSetup(*dir)
	if err != nil {
		return err
	}
	return serve(ctx, e, s)
}

// serve runs the agent until ctx is done. Start order is downstream first
// (storage, agent, HTTP, then MQTT inside the agent); stop order is the
// reverse: MQTT stops taking messages and commits what it holds, the
// recompute loop ends, the HTTP server drains, and storage closes last.
func serve(ctx context.Context, e *env, s *setup) (err error) {
	log := newLogger(s.cfg.Logging, e.stderr)
	if os.Getenv("GOGC") == "" {
		// Memory is what a Pi next to Home Assistant is short of, and the
		// full recompute, the only heavy work, is rare: collecting at 50%
		// growth instead of 100% lowers the peak by about 4 MB for about a
		// fifth more recompute time (TestDemoHouseRSS). GOGC overrides it.
		debug.SetGCPercent(serviceGCPercent)
	}
	db, err := openStore(s, lockTimeout)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = cerr
		}
		log.Info("stopped")
	}()
	st, err := newAgentStore(db, log.With("component", "storage"))
	if err != nil {
		return err
	}
	a, err := agent.New(st, agent.Options{
		House:    s.house,
		Run:      runOptions(s.cfg, s.loc),
		Debounce: s.cfg.Agent.Debounce,
		Schedule: s.schedule,
		Now:      e.now,
		Logger:   log,

		TemperatureID: s.cfg.TemperatureID(),
	})
	if err != nil {
		return err
	}

	var sub *mqtt.Subscriber
	if s.cfg.MQTT.Broker != "" {
		opt, err := mqttOptions(s, log)
		if err != nil {
			return err
		}
		if len(opt.Subscriptions) == 0 {
			log.Warn("mqtt broker configured but no meter subscribed; MQTT ingest is off")
		} else if sub, err = mqtt.New(opt, a); err != nil {
			return fmt.Errorf("mqtt: %w", err)
		} else {
			a.AddSource(sub)
		}
	}

	var (
		srv *http.Server
		wg  sync.WaitGroup
	)
	if listen := s.cfg.HTTP.Listen; listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("http.listen: %w", err)
		}
		h := &api{st: st, agent: a, sub: sub, broker: redactedBroker(s.cfg.MQTT.Broker), s: s, now: e.now, log: log.With("component", "http")}
		srv = &http.Server{Handler: h.handler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server failed", "error", err)
			}
		})
		log.Info("http listening", "addr", ln.Addr().String())
	}
	log.Info("started", "version", version, "config", s.dir, "database", db.Path(),
		"meters", len(s.house.Meters), "mqtt", sub != nil, "timezone", s.loc.String())

	runErr := a.Run(ctx)
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("http shutdown", "error", err)
			_ = srv.Close()
		}
		cancel()
		wg.Wait()
	}
	return runErr
}

// redactedBroker hides a password in the broker URL for status and logs.
func redactedBroker(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
