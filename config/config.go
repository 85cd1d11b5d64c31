package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// File names inside the configuration directory.
const (
	ConfigFile   = "config.yaml"
	MetersFile   = "meters.yaml"
	PatternsFile = "seasonal_patterns.yaml"
)

// Defaults applied when a key is absent.
const (
	DefaultFirstYear            = 2020 // processing starts on January 1st of this year
	DefaultMaxExtrapolationDays = 90
	DefaultMeasuredGap          = 3 * time.Hour

	DefaultInfluxBucketRaw       = "lampfi"
	DefaultInfluxBucketProcessed = "lampfi_processed"
	DefaultInfluxTimeout         = 30 * time.Second
	DefaultInfluxRetryAttempts   = 3

	DefaultTibberPollingInterval  = time.Hour
	DefaultTibberLookbackHours    = 48
	DefaultTibberMaxLookbackHours = 720
	DefaultTibberMeterID          = "haupt_strom"

	DefaultGasEnergyContent = 11.504 // kWh per m³
	DefaultGasZFactor       = 0.8885

	DefaultAnalyticsSchedule  = "0 2 * * *"
	DefaultTibberSyncSchedule = "5 * * * *"

	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"
)

// Config is a loaded and validated configuration directory.
type Config struct {
	Dir string // the directory Load read

	// Timezone is the IANA zone whose local midnights bound days (key
	// `timezone`); "" means the machine's local zone.
	Timezone string
	Location *time.Location // resolved Timezone; time.Local when Timezone is ""

	Processing Processing
	InfluxDB   InfluxDB
	Tibber     Tibber
	Gas        Gas
	Workflows  Workflows
	Logging    Logging

	// The agent's own sections (see agent.go).
	MQTT    MQTT
	Storage Storage
	HTTP    HTTP
	Agent   Agent

	// OutdoorTemperature is the optional temperature series (see
	// temperature.go); nil when the section is absent.
	OutdoorTemperature *OutdoorTemperature

	Meters   []Meter            // in file order
	Patterns map[string]Pattern // by meter id

	// Notices lists keys that are accepted but not used by meteragent, and
	// valid but doubtful values, each with file and line, in file order.
	Notices []Notice
}

// Meter returns the meter with the given id.
func (c *Config) Meter(id string) (Meter, bool) {
	for _, m := range c.Meters {
		if m.ID == id {
			return m, true
		}
	}
	return Meter{}, false
}

// Processing holds meteragent's own processing settings (section
// `processing:`).
type Processing struct {
	// FirstDay is the first day to process (key first_day). Default: January
	// 1st of workflows.analytics.start_year, else of DefaultFirstYear. The old
	// pipeline ignored start_year (W-23); meteragent honours it.
	FirstDay Date
	// MaxExtrapolationDays bounds extrapolation before the first and after the
	// last reading: -1 = unlimited, 0 = none.
	MaxExtrapolationDays int
	// MeasuredGap is the longest gap between readings around a midnight for
	// which the day still counts as measured (written "3h").
	MeasuredGap time.Duration
	// AnomalyMethod selects anomaly detection (key anomaly_method):
	// AnomalyProfile (default) or AnomalyConsensus, the old pipeline's
	// 2-of-3 vote kept for comparison.
	AnomalyMethod string
}

// InfluxDB is the `influxdb:` section. The token and organisation are not
// part of the files; they come from the environment.
type InfluxDB struct {
	URL             string // "" = no InfluxDB configured
	BucketRaw       string
	BucketProcessed string
	Timeout         time.Duration // written in seconds (30) or as a duration ("30s")
	RetryAttempts   int
}

// Tibber is the `tibber:` section.
type Tibber struct {
	PollingInterval  time.Duration // written in seconds (3600) or as a duration ("1h")
	LookbackHours    int           // hours fetched on each poll
	MaxLookbackHours int           // ceiling when catching up after downtime
	MeterID          string        // meter the hourly consumption is booked on
}

// Gas is the `gas_conversion:` section.
type Gas struct {
	EnergyContent float64 // kWh per m³
	ZFactor       float64 // dimensionless compression factor
}

// KWhPerM3 returns the factor that converts m³ of gas to kWh.
func (g Gas) KWhPerM3() float64 { return g.EnergyContent * g.ZFactor }

// Workflows is the `workflows:` section: cron schedules in the config's
// time zone.
type Workflows struct {
	Analytics  Analytics
	TibberSync TibberSync
}

// Analytics is `workflows.analytics`.
type Analytics struct {
	Schedule  string // cron expression, 5 fields or a @descriptor
	StartYear int    // 0 when not given; see Processing.FirstDay
}

// TibberSync is `workflows.tibber_sync`.
type TibberSync struct {
	Schedule string
}

// Logging holds the `logging:` keys meteragent uses. The old file-rotation
// keys (file, max_bytes, backup_count) are Notices: meteragent logs to
// standard output for journald.
type Logging struct {
	Level  string // debug, info, warn or error (Python's WARNING and CRITICAL are mapped)
	Format string // text or json
}

// Anomaly methods (processing.anomaly_method).
const (
	AnomalyProfile   = "profile"   // expected use from the meter's learned profile (default)
	AnomalyConsensus = "consensus" // the old pipeline's 2-of-3 vote, for comparison
)

// Meter types.
const (
	TypePhysical = "physical"
	TypeMaster   = "master"
	TypeVirtual  = "virtual"
)

// Master period composition types and the virtual calculation type.
const (
	CompositionSingle      = "single"
	CompositionSum         = "sum"
	CalculationSubtraction = "subtraction"
)

// Meter is one entry of meters.yaml. Units are stored in canonical spelling
// (the Unit* constants), so "m3" reads as "m³".
type Meter struct {
	ID          string
	Type        string // TypePhysical, TypeMaster or TypeVirtual
	OutputUnit  string // master default kWh; virtual default the base meter's unit
	Description string

	// Physical meters. A zero Date is absent; 9999-12-31 is Date.Open().
	InstallationDate   Date
	DeinstallationDate Date
	// RegisterSize is meteragent's optional key register_size: the value at
	// which the register wraps to 0 (0 = never).
	RegisterSize float64

	// Master meters.
	Periods []Period

	// Virtual meters: BaseMeter minus each of SubtractMeters.
	CalculationType          string // always CalculationSubtraction
	BaseMeter                string
	SubtractMeters           []string
	SubtractMeterConversions map[string]Conversion // by subtracted meter id

	// MQTT is a physical meter's own `mqtt:` block (Meter set to ID), or nil.
	MQTT *Subscription

	Line int // line of the entry in meters.yaml
}

// Period is one stretch of a master meter's history, both dates inclusive.
type Period struct {
	StartDate Date
	// EndDate is Date.Open() when the period has no end (absent or 9999-12-31).
	EndDate         Date
	CompositionType string // CompositionSingle (default) or CompositionSum
	SourceMeters    []string
	SourceUnit      string // default: the master's OutputUnit
	// ApplyOffset continues the register from the previous period (key
	// apply_offset_from_previous_period, or apply_offset as the old
	// PostgreSQL migration wrote it, W-9).
	ApplyOffset bool
	Line        int
}

// Conversion converts a subtracted meter's use before subtraction.
type Conversion struct {
	FromUnit, ToUnit string
}

// Pattern is one entry of seasonal_patterns.yaml: the share in percent of a
// year's use in each month, January first, as written (not normalised).
type Pattern struct {
	MonthlyPercentages [12]float64
	Description        string
	Line               int
}

// Load reads dir/config.yaml, dir/meters.yaml and dir/seasonal_patterns.yaml
// (the last one is optional) and validates them together. On failure it
// returns every problem found, joined with errors.Join; each is a
// *FieldError, or an error naming the path of a file that cannot be read.
func Load(dir string) (*Config, error) {
	cfgData, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	metersData, err := os.ReadFile(filepath.Join(dir, MetersFile))
	if err != nil {
		return nil, fmt.Errorf("read meters: %w", err)
	}
	patternsData, err := os.ReadFile(filepath.Join(dir, PatternsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read seasonal patterns: %w", err)
	}
	c, err := parse(cfgData, metersData, patternsData)
	if err != nil {
		return nil, err
	}
	c.Dir = dir
	c.resolvePaths(dir)
	return c, nil
}

// parse is Load without the file system; nil patterns means no file.
func parse(cfgData, metersData, patternsData []byte) (*Config, error) {
	c := defaults()
	cp := &fileParser{file: ConfigFile}
	mp := &fileParser{file: MetersFile}
	pp := &fileParser{file: PatternsFile}

	var tibberMeter *yaml.Node
	if root, ok := cp.parse(cfgData); ok {
		tibberMeter = cp.parseConfig(root, c)
	}
	var nodes []meterNodes
	metersOK := false
	if root, ok := mp.parse(metersData); ok {
		c.Meters, nodes, metersOK = mp.parseMeters(root)
	}
	var patternKeys []entry
	if patternsData != nil {
		if root, ok := pp.parse(patternsData); ok {
			c.Patterns, patternKeys = pp.parsePatterns(root)
		}
	}
	if metersOK {
		mp.checkReferences(c.Meters, nodes)
		pp.checkPatternMeters(c.Meters, c.Patterns, patternKeys)
		if tibberMeter != nil {
			checkTibberMeter(cp, c, tibberMeter)
		}
		checkMQTT(cp, mp, c)
		checkTemperature(cp, c)
	}

	var errs []error
	for _, p := range []*fileParser{cp, mp, pp} {
		slices.SortStableFunc(p.errs, func(a, b *FieldError) int { return a.Line - b.Line })
		for _, e := range p.errs {
			errs = append(errs, e)
		}
		slices.SortStableFunc(p.notices, func(a, b Notice) int { return a.Line - b.Line })
		c.Notices = append(c.Notices, p.notices...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func defaults() *Config {
	return &Config{
		Location: time.Local,
		Processing: Processing{
			MaxExtrapolationDays: DefaultMaxExtrapolationDays,
			MeasuredGap:          DefaultMeasuredGap,
			AnomalyMethod:        AnomalyProfile,
		},
		InfluxDB: InfluxDB{
			BucketRaw:       DefaultInfluxBucketRaw,
			BucketProcessed: DefaultInfluxBucketProcessed,
			Timeout:         DefaultInfluxTimeout,
			RetryAttempts:   DefaultInfluxRetryAttempts,
		},
		Tibber: Tibber{
			PollingInterval:  DefaultTibberPollingInterval,
			LookbackHours:    DefaultTibberLookbackHours,
			MaxLookbackHours: DefaultTibberMaxLookbackHours,
			MeterID:          DefaultTibberMeterID,
		},
		Gas: Gas{EnergyContent: DefaultGasEnergyContent, ZFactor: DefaultGasZFactor},
		Workflows: Workflows{
			Analytics:  Analytics{Schedule: DefaultAnalyticsSchedule},
			TibberSync: TibberSync{Schedule: DefaultTibberSyncSchedule},
		},
		Logging:  Logging{Level: DefaultLogLevel, Format: DefaultLogFormat},
		MQTT:     MQTT{ClientID: DefaultMQTTClientID, MaxInflight: DefaultMQTTMaxInflight},
		Storage:  Storage{MaxSizeMB: DefaultStorageMaxMB},
		HTTP:     HTTP{Listen: DefaultHTTPListen},
		Agent:    Agent{Debounce: DefaultDebounce},
		Patterns: map[string]Pattern{},
	}
}

const unusedNotice = "accepted for compatibility, not used by meteragent"

// parseConfig fills c from config.yaml. It returns the node of an explicit
// tibber.meter_id, checked against the meters later.
func (p *fileParser) parseConfig(root *yaml.Node, c *Config) (tibberMeter *yaml.Node) {
	var firstDay, startYear *yaml.Node
	if root != nil {
		es, ok := p.mapping(root, "")
		if !ok {
			return nil
		}
		p.walk(es, "", schema{
			fields: map[string]func(*yaml.Node, string){
				"timezone": func(v *yaml.Node, path string) {
					s, ok := p.str(v, path)
					if !ok {
						return
					}
					loc, err := loadLocation(s)
					if err != nil {
						p.fail(v, path, fail(ErrInvalid, "unknown time zone %q (want an IANA name like Europe/Berlin)", s))
						return
					}
					c.Timezone, c.Location = s, loc
				},
				"processing": func(v *yaml.Node, path string) { firstDay = p.parseProcessing(v, path, &c.Processing) },
				"influxdb":   func(v *yaml.Node, path string) { p.parseInfluxDB(v, path, &c.InfluxDB) },
				"tibber":     func(v *yaml.Node, path string) { tibberMeter = p.parseTibber(v, path, &c.Tibber) },
				"gas_conversion": func(v *yaml.Node, path string) {
					p.parseGas(v, path, &c.Gas)
				},
				"workflows": func(v *yaml.Node, path string) { startYear = p.parseWorkflows(v, path, &c.Workflows) },
				"logging":   func(v *yaml.Node, path string) { p.parseLogging(v, path, &c.Logging) },
				"mqtt":      func(v *yaml.Node, path string) { p.parseMQTT(v, path, &c.MQTT) },
				"storage":   func(v *yaml.Node, path string) { p.parseStorage(v, path, &c.Storage) },
				"agent":     func(v *yaml.Node, path string) { p.parseAgent(v, path, &c.Agent) },
				"http":      func(v *yaml.Node, path string) { p.parseHTTP(v, path, &c.HTTP) },
				"outdoor_temperature": func(v *yaml.Node, path string) {
					p.parseTemperature(v, path, &c.OutdoorTemperature)
				},
			},
			ignored: map[string]string{
				"meters_config":            unusedNotice + " (meters are read from " + MetersFile + " beside " + ConfigFile + ")",
				"seasonal_patterns_config": unusedNotice + " (patterns are read from " + PatternsFile + " beside " + ConfigFile + ")",
			},
		})
	}
	switch {
	case firstDay != nil:
		if startYear != nil && c.Workflows.Analytics.StartYear != 0 {
			p.notice(startYear, "workflows.analytics.start_year", "overridden by processing.first_day")
		}
	case c.Workflows.Analytics.StartYear != 0:
		c.Processing.FirstDay = NewDate(c.Workflows.Analytics.StartYear, time.January, 1)
	default:
		c.Processing.FirstDay = NewDate(DefaultFirstYear, time.January, 1)
	}
	return tibberMeter
}

// loadLocation is time.LoadLocation except that "" means the local zone
// (LoadLocation would give UTC).
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return time.Local, nil
	}
	return time.LoadLocation(name)
}

func (p *fileParser) parseProcessing(n *yaml.Node, path string, pr *Processing) (firstDay *yaml.Node) {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil
	}
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"first_day": func(v *yaml.Node, path string) {
			if d, ok := p.realDay(v, path); ok {
				pr.FirstDay, firstDay = d, v
			}
		},
		"max_extrapolation_days": func(v *yaml.Node, path string) {
			if i, ok := p.int(v, path); ok {
				if i < -1 {
					p.fail(v, path, fail(ErrInvalid, "must be -1 (unlimited), 0 (none) or a number of days, got %d", i))
					return
				}
				pr.MaxExtrapolationDays = i
			}
		},
		"measured_gap": func(v *yaml.Node, path string) {
			if d, ok := p.duration(v, path, false); ok {
				pr.MeasuredGap = d
			}
		},
		"anomaly_method": func(v *yaml.Node, path string) {
			s, ok := p.str(v, path)
			if !ok {
				return
			}
			if s != AnomalyProfile && s != AnomalyConsensus {
				p.fail(v, path, fail(ErrInvalid, "want %s or %s, got %q", AnomalyProfile, AnomalyConsensus, s))
				return
			}
			pr.AnomalyMethod = s
		},
	}})
	return firstDay
}

func (p *fileParser) parseInfluxDB(n *yaml.Node, path string, in *InfluxDB) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"url": func(v *yaml.Node, path string) {
			s, ok := p.str(v, path)
			if !ok {
				return
			}
			if !validURL(s) {
				p.fail(v, path, fail(ErrInvalid, "want an http(s) URL like http://localhost:8086, got %q", s))
				return
			}
			in.URL = s
		},
		"bucket_raw":       drop(p.nonEmpty(&in.BucketRaw)),
		"bucket_processed": drop(p.nonEmpty(&in.BucketProcessed)),
		"timeout": func(v *yaml.Node, path string) {
			if d, ok := p.duration(v, path, true); ok {
				in.Timeout = d
			}
		},
		"retry_attempts": drop(p.intAtLeast(&in.RetryAttempts, 0)),
	}})
}

func validURL(s string) bool {
	rest, ok := strings.CutPrefix(s, "http://")
	if !ok {
		rest, ok = strings.CutPrefix(s, "https://")
	}
	return ok && rest != "" && rest[0] != '/' && !strings.ContainsAny(s, " \t\r\n")
}

func (p *fileParser) parseTibber(n *yaml.Node, path string, t *Tibber) (meterID *yaml.Node) {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil
	}
	var lookback *yaml.Node
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"polling_interval": func(v *yaml.Node, path string) {
			if d, ok := p.duration(v, path, true); ok {
				t.PollingInterval = d
			}
		},
		"lookback_hours": func(v *yaml.Node, path string) {
			if p.intAtLeast(&t.LookbackHours, 1)(v, path) {
				lookback = v
			}
		},
		"max_lookback_hours": drop(p.intAtLeast(&t.MaxLookbackHours, 1)),
		"meter_id": func(v *yaml.Node, path string) {
			if p.nonEmpty(&t.MeterID)(v, path) {
				meterID = v
			}
		},
	}})
	if t.LookbackHours > t.MaxLookbackHours {
		at := lookback
		if at == nil {
			at = n
		}
		p.fail(at, keyPath(path, "lookback_hours"), fail(ErrInvalid, "%d is more than max_lookback_hours %d", t.LookbackHours, t.MaxLookbackHours))
	}
	return meterID
}

func (p *fileParser) parseGas(n *yaml.Node, path string, g *Gas) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	positive := func(dst *float64) func(*yaml.Node, string) {
		return func(v *yaml.Node, path string) {
			f, ok := p.float(v, path)
			if !ok {
				return
			}
			if f <= 0 {
				p.fail(v, path, fail(ErrInvalid, "must be greater than 0, got %v", f))
				return
			}
			*dst = f
		}
	}
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"energy_content": positive(&g.EnergyContent),
		"z_factor":       positive(&g.ZFactor),
	}})
}

func (p *fileParser) parseWorkflows(n *yaml.Node, path string, w *Workflows) (startYear *yaml.Node) {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil
	}
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"analytics": func(v *yaml.Node, path string) {
			es, ok := p.mapping(v, path)
			if !ok {
				return
			}
			p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
				"schedule": p.schedule(&w.Analytics.Schedule),
				"start_year": func(v *yaml.Node, path string) {
					y, ok := p.int(v, path)
					if !ok {
						return
					}
					if y < 1900 || y >= openYear {
						p.fail(v, path, fail(ErrInvalid, "want a year like 2020, got %d", y))
						return
					}
					w.Analytics.StartYear, startYear = y, v
				},
			}})
		},
		"tibber_sync": func(v *yaml.Node, path string) {
			es, ok := p.mapping(v, path)
			if !ok {
				return
			}
			p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
				"schedule": p.schedule(&w.TibberSync.Schedule),
			}})
		},
	}})
	return startYear
}

// schedule checks the shape of a cron expression only (five fields or an
// @descriptor); the scheduler parses it for real.
func (p *fileParser) schedule(dst *string) func(*yaml.Node, string) {
	return func(v *yaml.Node, path string) {
		s, ok := p.str(v, path)
		if !ok {
			return
		}
		s = strings.TrimSpace(s)
		n := len(strings.Fields(s))
		descriptor := strings.HasPrefix(s, "@")
		if descriptor && n > 2 || !descriptor && n != 5 {
			p.fail(v, path, fail(ErrInvalid, "want a cron expression like \"0 2 * * *\", got %q", s))
			return
		}
		*dst = s
	}
}

func (p *fileParser) parseLogging(n *yaml.Node, path string, l *Logging) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	p.walk(es, path, schema{
		fields: map[string]func(*yaml.Node, string){
			"level": func(v *yaml.Node, path string) {
				s, ok := p.str(v, path)
				if !ok {
					return
				}
				lvl, ok := map[string]string{
					"debug": "debug", "info": "info", "warning": "warn", "warn": "warn", "error": "error", "critical": "error",
				}[strings.ToLower(strings.TrimSpace(s))]
				if !ok {
					p.fail(v, path, fail(ErrInvalid, "want DEBUG, INFO, WARNING or ERROR, got %q", s))
					return
				}
				l.Level = lvl
			},
			"format": func(v *yaml.Node, path string) {
				s, ok := p.str(v, path)
				if !ok {
					return
				}
				f := strings.ToLower(strings.TrimSpace(s))
				if f != "text" && f != "json" {
					p.fail(v, path, fail(ErrInvalid, "want text or json, got %q", s))
					return
				}
				l.Format = f
			},
		},
		ignored: map[string]string{
			"file":         unusedNotice + " (meteragent logs to standard output)",
			"max_bytes":    unusedNotice + " (meteragent logs to standard output)",
			"backup_count": unusedNotice + " (meteragent logs to standard output)",
		},
	})
}

// nonEmpty returns a field handler that stores a non-empty string.
func (p *fileParser) nonEmpty(dst *string) func(*yaml.Node, string) bool {
	return func(v *yaml.Node, path string) bool {
		s, ok := p.str(v, path)
		if !ok {
			return false
		}
		if strings.TrimSpace(s) == "" {
			p.fail(v, path, fail(ErrInvalid, "must not be empty"))
			return false
		}
		*dst = s
		return true
	}
}

// drop adapts a handler that reports success to a schema field.
func drop(f func(*yaml.Node, string) bool) func(*yaml.Node, string) {
	return func(v *yaml.Node, path string) { f(v, path) }
}

// intAtLeast returns a field handler that stores an integer ≥ lo.
func (p *fileParser) intAtLeast(dst *int, lo int) func(*yaml.Node, string) bool {
	return func(v *yaml.Node, path string) bool {
		i, ok := p.int(v, path)
		if !ok {
			return false
		}
		if i < lo {
			p.fail(v, path, fail(ErrInvalid, "must be at least %d, got %d", lo, i))
			return false
		}
		*dst = i
		return true
	}
}

// checkTibberMeter notes an explicit tibber.meter_id that is not a physical
// meter: harmless while Tibber is not used, a mistake once it is.
func checkTibberMeter(p *fileParser, c *Config, n *yaml.Node) {
	for _, m := range c.Meters {
		if m.ID == c.Tibber.MeterID {
			if m.Type != TypePhysical {
				p.notice(n, "tibber.meter_id", "%q is a %s meter; Tibber readings belong to a physical meter", m.ID, m.Type)
			}
			return
		}
	}
	p.notice(n, "tibber.meter_id", "%q is not a meter in %s", c.Tibber.MeterID, MetersFile)
}
