package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/meteragent/meteragent/agent"
	"github.com/meteragent/meteragent/agent/mqtt"
	"github.com/meteragent/meteragent/config"
	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

// defaultConfigDir is where the package installs the configuration.
const defaultConfigDir = config.SystemConfigDir

// setup is a loaded configuration mapped onto the runtime's types.
type setup struct {
	dir      string
	cfg      *config.Config
	loc      *time.Location
	house    processing.House
	schedule agent.Schedule // nil: no scheduled full recompute
}

// loadSetup loads the configuration directory and derives the house and
// the schedule from it. Every problem comes back as one configError.
func loadSetup(dir string) (*setup, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, configError(dir, err)
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.Local
	}
	house, err := newHouse(cfg, loc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	s := &setup{dir: dir, cfg: cfg, loc: loc, house: house}
	if spec := cfg.Workflows.Analytics.Schedule; spec != "" {
		sched, err := parseSchedule(spec, loc)
		if err != nil {
			// The config package checks only the shape of the expression.
			return nil, fmt.Errorf("%s: workflows.analytics.schedule: %w", config.ConfigFile, err)
		}
		s.schedule = sched
	}
	return s, nil
}

// zonedSchedule evaluates a cron schedule in the configured zone, whatever
// the zone of the time it is asked about (the machine's may differ).
type zonedSchedule struct {
	cron.Schedule
	loc *time.Location
}

func (z zonedSchedule) Next(t time.Time) time.Time { return z.Schedule.Next(t.In(z.loc)) }

// parseSchedule parses a five-field cron expression or @descriptor with
// robfig/cron (the old pipeline ignored its schedule, W-23).
func parseSchedule(spec string, loc *time.Location) (agent.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cron expression %q: %w", spec, err)
	}
	return zonedSchedule{Schedule: s, loc: loc}, nil
}

// runOptions are the processing options of the live agent and of the
// process command: the configured range and rules, the learned intensity
// profile of every physical meter, and the default anomaly method. The
// temperature series itself is data: the agent reads it from the store,
// the process command from its readings (takeTemperatures).
func runOptions(cfg *config.Config, loc *time.Location) processing.RunOptions {
	po := &processing.ProfileOptions{}
	if t := cfg.OutdoorTemperature; t != nil {
		po.BaseTemperature = t.BaseTemperature
	}
	return processing.RunOptions{
		From:                 cfg.Processing.FirstDay.In(loc),
		MaxExtrapolationDays: cfg.Processing.MaxExtrapolationDays,
		MeasuredGap:          cfg.Processing.MeasuredGap,
		Profiles:             po,
		// The config's method names are processing's.
		Anomaly: processing.AnomalyOptions{Method: cfg.Processing.AnomalyMethod},
	}
}

// takeTemperatures moves the configured temperature series out of readings
// (where it is not a meter's) into opt's profiles.
func takeTemperatures(opt *processing.RunOptions, cfg *config.Config, readings map[string][]processing.Reading) {
	id := cfg.TemperatureID()
	ts, ok := readings[id]
	if id == "" || !ok {
		return
	}
	delete(readings, id)
	if opt.Profiles == nil {
		return
	}
	po := *opt.Profiles
	po.Temperatures = ts
	opt.Profiles = &po
}

// readingKinds are the ids a readings CSV may name: every meter of the house
// (the reader refuses the derived ones by kind) and the temperature series,
// which takes readings like a physical meter.
func readingKinds(cfg *config.Config, h processing.House) map[string]processing.Kind {
	k := meterKinds(h)
	if id := cfg.TemperatureID(); id != "" {
		k[id] = processing.Physical
	}
	return k
}

// newLogger builds the one logger of the process from logging.level and
// logging.format, writing to w (stderr: journald stamps and keeps it).
func newLogger(l config.Logging, w io.Writer) *slog.Logger {
	var level slog.Level
	switch l.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opt := &slog.HandlerOptions{Level: level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opt))
	}
	return slog.New(slog.NewTextHandler(w, opt))
}

// storageOptions maps the storage section; timeout bounds the wait for the
// file lock.
func storageOptions(cfg *config.Config, timeout time.Duration) storage.Options {
	return storage.Options{Timeout: timeout, MaxSizeBytes: int64(cfg.Storage.MaxSizeMB) << 20}
}

// openStore opens the configured database, with an error that says what to
// do about the usual problems.
func openStore(s *setup, timeout time.Duration) (*storage.DB, error) {
	path := s.cfg.StoragePath()
	db, err := storage.Open(path, storageOptions(s.cfg, timeout))
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, storage.ErrCorrupt):
		return nil, fmt.Errorf("%w\n(restore a backup, or move the file away to start empty; `meteragent db check` tells more)", err)
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%w (create the directory, or set storage.path in %s)", err, config.ConfigFile)
	}
	return nil, err
}

// mqttOptions maps the mqtt section and the meters' mqtt blocks onto the
// subscriber's options. It returns no subscriptions when none apply.
func mqttOptions(s *setup, log *slog.Logger) (mqtt.Options, error) {
	m := s.cfg.MQTT
	opt := mqtt.Options{
		Broker:      m.Broker,
		ClientID:    m.ClientID,
		Username:    m.Username,
		Password:    m.Password,
		MaxInflight: m.MaxInflight,
		TLS: mqtt.TLSOptions{
			CAFile: m.TLS.CAFile, CertFile: m.TLS.CertFile, KeyFile: m.TLS.KeyFile,
			ServerName: m.TLS.ServerName, InsecureSkipVerify: m.TLS.InsecureSkipVerify,
		},
		Location: s.loc,
		Logger:   log,
	}
	if m.PasswordFile != "" {
		pw, err := readPasswordFile(m.PasswordFile)
		if err != nil {
			return opt, err
		}
		opt.Password = pw
	}
	subs, err := subscriptions(s)
	if err != nil {
		return opt, err
	}
	opt.Subscriptions = subs
	return opt, nil
}

// readPasswordFile returns the first line of path.
func readPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("mqtt.password_file: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("mqtt.password_file %s: %w", path, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// subscriptions expands the configuration into one subscription per meter
// and topic:
//
//   - a meter's own mqtt block, and an mqtt.subscriptions entry with a fixed
//     meter, are taken as they are;
//   - a topic_template entry covers every physical meter that has neither
//     of those and, when it names a unit, only the meters whose unit measures
//     the same (energy or volume), so that a wmbusmeters template for water
//     and one for heat can share a topic prefix.
//
// Subscribing per configured meter rather than to the template's wildcard
// keeps meters that are not ours out of the store: wmbusmeters publishes
// every telegram it hears, the neighbours' meters included. Each
// subscription's scale converts the payload's unit to its meter's.
func subscriptions(s *setup) ([]mqtt.Subscription, error) {
	units := make(map[string]processing.Unit, len(s.house.Meters))
	for _, m := range s.house.Meters {
		units[m.ID] = m.Unit
	}
	var out []mqtt.Subscription
	add := func(c config.Subscription, meter, topic string) error {
		scale := 1.0
		if c.Unit != "" {
			from, err := processing.ParseUnit(c.Unit)
			if err != nil {
				return fmt.Errorf("mqtt subscription of meter %s: %w", meter, err)
			}
			if scale, err = processing.Factor(from, units[meter], s.house.GasKWhPerM3); err != nil {
				return fmt.Errorf("mqtt subscription of meter %s: %w", meter, err)
			}
		}
		out = append(out, mqtt.Subscription{
			Topic: topic, Meter: meter, Format: mqtt.Format(c.Format),
			Field: c.Field, TimeField: c.TimeField, Scale: scale,
		})
		return nil
	}
	own := map[string]bool{}
	for _, m := range s.cfg.Meters {
		if m.MQTT != nil {
			own[m.ID] = true
			if err := add(*m.MQTT, m.ID, m.MQTT.Topic); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range s.cfg.MQTT.Subscriptions {
		if c.Meter != "" {
			own[c.Meter] = true
			if err := add(c, c.Meter, c.Topic); err != nil {
				return nil, err
			}
		}
	}
	if t := s.cfg.OutdoorTemperature; t != nil && t.MQTT != nil {
		// °C as published: the config refuses a unit here, so scale is 1.
		if err := add(*t.MQTT, t.ID, t.MQTT.Topic); err != nil {
			return nil, err
		}
	}
	for _, c := range s.cfg.MQTT.Subscriptions {
		if c.Meter != "" {
			continue
		}
		for _, m := range s.house.Meters {
			if m.Kind != processing.Physical || own[m.ID] || c.Unit != "" && !sameDimension(c.Unit, m.Unit) {
				continue
			}
			if err := add(c, m.ID, c.MeterTopic(m.ID)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func sameDimension(unit string, u processing.Unit) bool {
	volume := func(s string) bool { return s == config.UnitM3 || s == config.UnitL }
	return volume(unit) == volume(string(u))
}
