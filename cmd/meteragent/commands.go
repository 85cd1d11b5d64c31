package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/meteragent/meteragent/agent"
	"github.com/meteragent/meteragent/agent/mqtt"
	"github.com/meteragent/meteragent/config"
	"github.com/meteragent/meteragent/processing"
	"github.com/meteragent/meteragent/storage"
)

// offlineLockTimeout bounds the wait for the database lock of a command that
// opens the store itself because no agent answered.
const offlineLockTimeout = 500 * time.Millisecond

// errNotRunning means no agent answered on the configured HTTP address.
var errNotRunning = errors.New("agent not running")

// parseArgs parses flags that may come before, between or after the
// positional arguments ("import csv FILE --config DIR") and returns the
// positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{msg: err.Error(), shown: true}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// agentURL is the base URL of the running agent's API, or "" when the
// configuration has it off. A wildcard listen address is asked on loopback.
func agentURL(s *setup) string {
	listen := s.cfg.HTTP.Listen
	if listen == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// callAgent sends a request to the running agent. It returns errNotRunning
// when nothing listens there, and the API's error message on a failure.
func callAgent(ctx context.Context, s *setup, method, path string, body io.Reader) (*http.Response, error) {
	base := agentURL(s)
	if base == "" {
		return nil, errNotRunning
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, errNotRunning
		}
		return nil, fmt.Errorf("ask the agent at %s: %w", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var ae apiError
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, &ae) == nil && ae.Error != "" {
			return nil, errors.New(ae.Error)
		}
		return nil, fmt.Errorf("agent at %s: %s", base, resp.Status)
	}
	return resp, nil
}

// openOffline opens the store for a command when no agent answered. Unless
// create is set, a missing file is an error rather than a new empty
// database.
func openOffline(s *setup, create bool) (*storage.DB, error) {
	path := s.cfg.StoragePath()
	if _, err := os.Stat(path); !create && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no database at %s yet: the agent has not run with this configuration", path)
	}
	db, err := openStore(s, offlineLockTimeout)
	if errors.Is(err, storage.ErrLocked) && s.cfg.HTTP.Listen == "" {
		return nil, fmt.Errorf("%w\n(an agent holds the database and its HTTP API is off: set http.listen in %s to ask it)", err, config.ConfigFile)
	}
	return db, err
}

func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", defaultConfigDir, "configuration `directory`")
}

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "status", "[--config DIR] [--json]")
	dir := configFlag(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := loadSetup(*dir)
	if err != nil {
		return err
	}
	rep, err := fetchStatus(ctx, e, s)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printStatus(e.stdout, rep)
	return nil
}

// fetchStatus asks the running agent, or reads the database when none runs.
func fetchStatus(ctx context.Context, e *env, s *setup) (statusReport, error) {
	var rep statusReport
	resp, err := callAgent(ctx, s, http.MethodGet, "/status", nil)
	if err == nil {
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			return rep, fmt.Errorf("read the agent's status: %w", err)
		}
		return rep, nil
	}
	if !errors.Is(err, errNotRunning) {
		return rep, err
	}
	db, err := openOffline(s, false)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	st, err := newAgentStore(db, slog.New(slog.DiscardHandler))
	if err != nil {
		return rep, err
	}
	rep, err = collectStatus(st, s.house, s.cfg.TemperatureID(), e.now())
	rep.Source = "database"
	return rep, err
}

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "export", "--what readings|daily|monthly|anomalies [--meter ID] [--config DIR]")
	dir := configFlag(fs)
	what := fs.String("what", "", "what to export: readings, daily, monthly or anomalies")
	meter := fs.String("meter", "", "only this meter `id` (or, with --what readings, the outdoor temperature's)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !validExport(*what) {
		return usagef("--what %q: want one of %s", *what, strings.Join(exportKinds, ", "))
	}
	s, err := loadSetup(*dir)
	if err != nil {
		return err
	}
	if err := checkExport(s.house, s.cfg.TemperatureID(), *what, *meter); err != nil {
		return usagef("--meter: %v", err)
	}
	q := url.Values{"what": {*what}}
	if *meter != "" {
		q.Set("meter", *meter)
	}
	resp, err := callAgent(ctx, s, http.MethodGet, "/export?"+q.Encode(), nil)
	if err == nil {
		defer resp.Body.Close()
		if _, err := io.Copy(e.stdout, resp.Body); err != nil {
			return fmt.Errorf("export from the agent: %w", err)
		}
		return nil
	}
	if !errors.Is(err, errNotRunning) {
		return err
	}
	db, err := openOffline(s, false)
	if err != nil {
		return err
	}
	defer db.Close()
	return writeExport(e.stdout, db, s.house, s.cfg.TemperatureID(), *what, *meter)
}

func runImport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "import", "csv FILE [--config DIR]")
	dir := configFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "csv" {
		return usagef("want: import csv FILE")
	}
	file := pos[1]
	s, err := loadSetup(*dir)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var res importResult
	// NopCloser: the client closes a request body, and the file is read
	// again below when no agent answers.
	resp, err := callAgent(ctx, s, http.MethodPost, "/import?"+url.Values{"name": {file}}.Encode(), io.NopCloser(f))
	switch {
	case err == nil:
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			return fmt.Errorf("read the agent's answer: %w", err)
		}
		fmt.Fprintf(e.stdout, "imported %s through the running agent: %d readings, %d new\n", file, res.Readings, res.Added)
		return nil
	case !errors.Is(err, errNotRunning):
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	readings, err := readReadingsFile(f, readingsInput{name: file, loc: s.loc, kinds: readingKinds(s.cfg, s.house)})
	if err != nil {
		return err
	}
	db, err := openOffline(s, true)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := newAgentStore(db, newLogger(s.cfg.Logging, e.stderr))
	if err != nil {
		return err
	}
	a, err := agent.New(st, agent.Options{House: s.house, Run: runOptions(s.cfg, s.loc), Now: e.now, TemperatureID: s.cfg.TemperatureID()})
	if err != nil {
		return err
	}
	if res, err = importReadings(ctx, a, readings); err != nil {
		return err
	}
	if err := a.RecomputeDirty(); err != nil {
		return fmt.Errorf("imported %d new readings, but the recompute failed: %w", res.Added, err)
	}
	fmt.Fprintf(e.stdout, "imported %s into %s: %d readings, %d new\n", file, db.Path(), res.Readings, res.Added)
	return nil
}

// nopCommitter lets check-config build the MQTT subscriber (which checks
// every option, TLS files included) without a store.
type nopCommitter struct{}

func (nopCommitter) Commit(context.Context, []processing.MeterReading) error { return nil }
func (nopCommitter) DeadLetter(context.Context, string, []byte, time.Time, string) error {
	return nil
}

func runCheckConfig(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "check-config", "[--config DIR]")
	dir := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := loadSetup(*dir)
	if err != nil {
		return err
	}
	cfg := s.cfg
	var subs int
	if cfg.MQTT.Broker != "" {
		opt, err := mqttOptions(s, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		subs = len(opt.Subscriptions)
		if subs > 0 {
			if _, err := mqtt.New(opt, nopCommitter{}); err != nil {
				return fmt.Errorf("mqtt: %w", err)
			}
		}
	}
	kinds := map[processing.Kind]int{}
	for _, m := range s.house.Meters {
		kinds[m.Kind]++
	}
	w := e.stdout
	fmt.Fprintf(w, "%s: OK\n", *dir)
	fmt.Fprintf(w, "  meters:   %d (%d physical, %d master, %d virtual), days in %s\n", len(s.house.Meters),
		kinds[processing.Physical], kinds[processing.Master], kinds[processing.Virtual], s.loc)
	switch {
	case cfg.MQTT.Broker == "":
		fmt.Fprintln(w, "  mqtt:     off (no mqtt.broker)")
	default:
		fmt.Fprintf(w, "  mqtt:     %s as %s, %d meter subscriptions\n", redactedBroker(cfg.MQTT.Broker), cfg.MQTT.ClientID, subs)
	}
	fmt.Fprintf(w, "  database: %s (limit %d MB)\n", cfg.StoragePath(), cfg.Storage.MaxSizeMB)
	if cfg.HTTP.Listen == "" {
		fmt.Fprintln(w, "  http:     off")
	} else {
		fmt.Fprintf(w, "  http:     %s (status, export, import, metrics)\n", cfg.HTTP.Listen)
	}
	if cfg.InfluxDB.URL != "" {
		// Said plainly so that nobody waits for points that never come.
		fmt.Fprintf(w, "  influxdb: %s is configured but not used: this version neither reads nor writes InfluxDB\n", redactedBroker(cfg.InfluxDB.URL))
	}
	if s.schedule != nil {
		fmt.Fprintf(w, "  schedule: full recompute %q in %s, next %s\n", cfg.Workflows.Analytics.Schedule, s.loc,
			s.schedule.Next(e.now()).Format("2006-01-02 15:04 MST"))
	}
	if notes := noticeLines(*dir, cfg); len(notes) > 0 {
		fmt.Fprintf(w, "notices (%d):\n", len(notes))
		for _, n := range notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
	return nil
}

func runDB(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "db", "compact|check|prune [--before DATE] [--meter ID] [--config DIR]")
	dir := configFlag(fs)
	before := fs.String("before", "", "prune: delete readings before this `date` (YYYY-MM-DD, local midnight)")
	meter := fs.String("meter", "", "prune: only this meter `id`")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one of: db compact, db check, db prune --before DATE")
	}
	s, err := loadSetup(*dir)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "compact":
		return compactDB(e, s)
	case "check":
		db, err := openOffline(s, false)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.Check(); err != nil {
			return err
		}
		stats, err := db.MeterStats()
		if err != nil {
			return err
		}
		n := 0
		for _, st := range stats {
			n += st.Count
		}
		fmt.Fprintf(e.stdout, "%s: OK (schema %d, %d meters, %d readings)\n", db.Path(), db.SchemaVersion(), len(stats), n)
		return nil
	case "prune":
		if *before == "" {
			return usagef("db prune needs --before DATE")
		}
		t, err := flagDate("before", *before, s.loc)
		if err != nil {
			return err
		}
		return pruneDB(e, s, t, *meter)
	}
	return usagef("unknown db command %q: want compact, check or prune", pos[0])
}

// compactDB copies the database into a tight new file and renames it over
// the old one. The agent must be stopped: opening the database fails with
// ErrLocked while it runs. The database stays open, and so locked, until the
// rename is done, so that an agent starting meanwhile waits or fails instead
// of writing to the file about to be replaced.
func compactDB(e *env, s *setup) (err error) {
	path := s.cfg.StoragePath()
	before, err := os.Stat(path)
	if err != nil {
		return err
	}
	db, err := openOffline(s, false)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := db.CompactTo(tmp); err != nil {
		return err
	}
	if afterCompactCopy != nil {
		afterCompactCopy(path)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	after, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "compacted %s: %.1f MB -> %.1f MB\n", path, float64(before.Size())/1e6, float64(after.Size())/1e6)
	return nil
}

// afterCompactCopy, when set by a test, runs between the copy and the rename
// of compactDB, with the database path.
var afterCompactCopy func(path string)

func pruneDB(e *env, s *setup, before time.Time, meter string) error {
	db, err := openOffline(s, false)
	if err != nil {
		return err
	}
	defer db.Close()
	// "" is every meter.
	total, err := db.DeleteReadingsBefore(meter, before)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted %d readings before %s from %s; computed series are kept (run `meteragent db compact` with the agent stopped to shrink the file)\n",
		total, before.Format(dateLayout), db.Path())
	return nil
}
