package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults of the agent's sections.
const (
	DefaultMQTTClientID    = "meteragent"
	DefaultMQTTMaxInflight = 1000
	DefaultStorageFile     = "meteragent.db"
	DefaultStorageMaxMB    = 960
	DefaultHTTPListen      = "127.0.0.1:8099"
	DefaultDebounce        = 5 * time.Second

	// SystemConfigDir is where the package installs the configuration; a
	// configuration read from there keeps its database in SystemStateDir.
	SystemConfigDir = "/etc/meteragent"
	SystemStateDir  = "/var/lib/meteragent"
)

// Payload formats of MQTT subscriptions, as the MQTT adapter names them.
const (
	FormatNumber      = "number"
	FormatJSON        = "json"
	FormatStatestream = "statestream"
	FormatWMBusMeters = "wmbusmeters"
	FormatAIOnTheEdge = "aiontheedge"
	FormatTasmota     = "tasmota"
)

// Formats lists the payload formats in the order error messages name them.
var Formats = []string{FormatNumber, FormatJSON, FormatStatestream, FormatWMBusMeters, FormatAIOnTheEdge, FormatTasmota}

// MeterPlaceholder is the topic level of Subscription.TopicTemplate that
// names the meter.
const MeterPlaceholder = "{meter}"

// MQTT is the `mqtt:` section: MQTT ingest. An empty Broker means none.
type MQTT struct {
	Broker   string // tcp://, mqtt://, ssl://, tls:// or mqtts:// URL
	ClientID string // fixed, so the broker keeps the persistent session
	Username string
	// Password with ${VAR} references expanded from the environment. Never
	// log it.
	Password string
	// PasswordFile is read by the caller (path relative to the config
	// directory already resolved); its first line is the password.
	PasswordFile string
	TLS          MQTTTLS
	MaxInflight  int // messages held unacknowledged at most

	// Subscriptions by topic pattern (mqtt.subscriptions); the per-meter
	// blocks of meters.yaml are in Meter.MQTT.
	Subscriptions []Subscription
}

// MQTTTLS is `mqtt.tls`. File paths are resolved against the config
// directory.
type MQTTTLS struct {
	CAFile, CertFile, KeyFile string
	ServerName                string
	InsecureSkipVerify        bool
}

// Subscription says where readings of physical meters arrive and how to read
// them. It is either an entry of mqtt.subscriptions with a TopicTemplate (the
// meter id is a level of the topic) or with Meter and Topic, or a meter's own
// `mqtt:` block in meters.yaml (Meter set, Topic required).
type Subscription struct {
	Topic         string // topic filter; MQTT wildcards allowed
	TopicTemplate string // topic with one level MeterPlaceholder
	Meter         string // fixed meter id ("" with TopicTemplate)
	Format        string // one of Formats
	Field         string // value path in JSON formats
	TimeField     string // time path in JSON formats; "-" = arrival time
	// Unit of the payload value ("" = the meter's output_unit); the caller
	// scales it to the meter's unit.
	Unit string
	Line int // line of the entry

	meterNode *yaml.Node
	unitNode  *yaml.Node
}

// Storage is the `storage:` section.
type Storage struct {
	// Path of the database file as written; "" means the default (see
	// Config.StoragePath).
	Path      string
	MaxSizeMB int
}

// HTTP is the `http:` section: the status API and metrics.
type HTTP struct {
	Listen string // host:port; "" disables the server
}

// Agent is the `agent:` section.
type Agent struct {
	// Debounce is how long the agent waits after new readings before it
	// recomputes, so a burst costs one recompute.
	Debounce time.Duration
}

// StoragePath returns the database file: storage.path resolved against the
// config directory, or by default meteragent.db in SystemStateDir for the
// system configuration and beside the configuration otherwise.
func (c *Config) StoragePath() string {
	p := c.Storage.Path
	if p == "" {
		if filepath.Clean(c.Dir) == SystemConfigDir {
			return filepath.Join(SystemStateDir, DefaultStorageFile)
		}
		p = DefaultStorageFile
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// resolvePaths makes the relative file paths of the agent's sections
// relative to dir, once Load knows it.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.MQTT.PasswordFile)
	abs(&c.MQTT.TLS.CAFile)
	abs(&c.MQTT.TLS.CertFile)
	abs(&c.MQTT.TLS.KeyFile)
}

// lookupEnv is os.LookupEnv; tests may replace it.
var lookupEnv = os.LookupEnv

// envRef matches ${NAME}; compiled on first use, not at every start.
var envRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`) })

// expandEnv replaces ${VAR} with the variable's value. An unset variable is
// an error: an empty password would fail later and less clearly.
func expandEnv(s string) (string, error) {
	var missing []string
	out := envRef().ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v, ok := lookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

func (p *fileParser) parseMQTT(n *yaml.Node, path string, m *MQTT) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	var pw, pwFile *yaml.Node
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"broker": func(v *yaml.Node, path string) {
			s, ok := p.str(v, path)
			if !ok {
				return
			}
			if err := checkBroker(s); err != nil {
				p.fail(v, path, err)
				return
			}
			m.Broker = strings.TrimSpace(s)
		},
		"client_id": func(v *yaml.Node, path string) {
			if p.nonEmpty(&m.ClientID)(v, path) && len(m.ClientID) > 65535 {
				p.fail(v, path, fail(ErrInvalid, "longer than MQTT allows"))
			}
		},
		"username": set(&m.Username, p.str),
		"password": func(v *yaml.Node, path string) {
			s, ok := p.str(v, path)
			if !ok {
				return
			}
			pw = v
			x, err := expandEnv(s)
			if err != nil {
				// The message names the variable, never the value.
				p.fail(v, path, fail(ErrMissing, "%v", err))
				return
			}
			m.Password = x
		},
		"password_file": func(v *yaml.Node, path string) {
			if p.nonEmpty(&m.PasswordFile)(v, path) {
				pwFile = v
			}
		},
		"tls":          func(v *yaml.Node, path string) { p.parseTLS(v, path, &m.TLS) },
		"max_inflight": func(v *yaml.Node, path string) { p.intBetween(&m.MaxInflight, 1, 65535)(v, path) },
		"subscriptions": func(v *yaml.Node, path string) {
			seq := deref(v)
			if seq.Kind != yaml.SequenceNode {
				p.fail(v, path, fail(ErrInvalid, "want a list of subscriptions, got %s", describe(v)))
				return
			}
			for i, item := range seq.Content {
				if s, ok := p.parseSubscription(item, indexPath(path, i), ""); ok {
					m.Subscriptions = append(m.Subscriptions, s)
				}
			}
		},
	}})
	if pw != nil && pwFile != nil {
		p.fail(pwFile, keyPath(path, "password_file"), fail(ErrInvalid, "give password or password_file, not both"))
	}
	if m.Broker == "" && len(m.Subscriptions) > 0 && !hasKey(es, "broker") {
		p.fail(n, keyPath(path, "broker"), fail(ErrMissing, "missing (subscriptions need a broker)"))
	}
}

// checkBroker checks the broker URL's scheme and host; the MQTT adapter
// checks it again when it connects.
func checkBroker(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil // explicitly no MQTT
	}
	scheme, rest, ok := strings.Cut(s, "://")
	switch strings.ToLower(scheme) {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
	default:
		ok = false
	}
	host := rest
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	host, _, _ = strings.Cut(host, "/")
	if !ok || host == "" || strings.HasPrefix(host, ":") || strings.ContainsAny(s, " \t\r\n") {
		return fail(ErrInvalid, "want a broker URL like tcp://localhost:1883 (tcp, mqtt, ssl, tls or mqtts), got %q", redactBroker(s))
	}
	return nil
}

// redactBroker hides a password written into a broker URL.
func redactBroker(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		if user, _, has := strings.Cut(rest[:i], ":"); has {
			return scheme + "://" + user + ":xxxxx@" + rest[i+1:]
		}
	}
	return s
}

func (p *fileParser) parseTLS(n *yaml.Node, path string, t *MQTTTLS) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"ca_file":              drop(p.nonEmpty(&t.CAFile)),
		"cert_file":            drop(p.nonEmpty(&t.CertFile)),
		"key_file":             drop(p.nonEmpty(&t.KeyFile)),
		"server_name":          drop(p.nonEmpty(&t.ServerName)),
		"insecure_skip_verify": set(&t.InsecureSkipVerify, p.bool),
	}})
	if (t.CertFile == "") != (t.KeyFile == "") {
		p.fail(n, path, fail(ErrMissing, "cert_file and key_file go together"))
	}
	if t.InsecureSkipVerify {
		p.notice(valueOf(es, "insecure_skip_verify"), keyPath(path, "insecure_skip_verify"), "the broker's certificate is not checked; use for testing only")
	}
}

// parseSubscription reads one subscription. owner is "" for an entry of
// mqtt.subscriptions; for a series' own block (a meter's in meters.yaml, the
// outdoor temperature's), which has no meter or topic_template key, it names
// whose readings arrive ("this meter's"), for the missing-topic message.
func (p *fileParser) parseSubscription(n *yaml.Node, path, owner string) (Subscription, bool) {
	perMeter := owner != ""
	s := Subscription{Line: lineOf(n)}
	es, ok := p.mapping(n, path)
	if !ok {
		return s, false
	}
	bad := false
	var formatNode, fieldNode, timeNode *yaml.Node
	fields := map[string]func(*yaml.Node, string){
		"topic": func(v *yaml.Node, path string) {
			t, ok := p.str(v, path)
			if !ok {
				bad = true
				return
			}
			if err := checkFilter(t); err != nil {
				p.fail(v, path, err)
				bad = true
				return
			}
			s.Topic = t
		},
		"format": func(v *yaml.Node, path string) {
			f, ok := p.str(v, path)
			if !ok {
				bad = true
				return
			}
			f = strings.ToLower(strings.TrimSpace(f))
			if !contains(Formats, f) {
				p.fail(v, path, fail(ErrInvalid, "unknown format %q (want %s)", f, strings.Join(Formats, ", ")))
				bad = true
				return
			}
			s.Format, formatNode = f, v
		},
		"field": func(v *yaml.Node, path string) {
			if p.nonEmpty(&s.Field)(v, path) {
				fieldNode = v
			} else {
				bad = true
			}
		},
		"time_field": func(v *yaml.Node, path string) {
			if p.nonEmpty(&s.TimeField)(v, path) {
				timeNode = v
			} else {
				bad = true
			}
		},
		"unit": func(v *yaml.Node, path string) {
			u, ok := p.unit(v, path)
			if !ok {
				bad = true
				return
			}
			s.Unit, s.unitNode = u, v
		},
	}
	if !perMeter {
		fields["topic_template"] = func(v *yaml.Node, path string) {
			t, ok := p.str(v, path)
			if !ok {
				bad = true
				return
			}
			if err := checkTemplate(t); err != nil {
				p.fail(v, path, err)
				bad = true
				return
			}
			s.TopicTemplate = t
		}
		fields["meter"] = func(v *yaml.Node, path string) {
			if p.nonEmpty(&s.Meter)(v, path) {
				s.meterNode = v
			} else {
				bad = true
			}
		}
	}
	p.walk(es, path, schema{fields: fields})

	switch {
	case perMeter && !hasKey(es, "topic"):
		p.fail(n, keyPath(path, "topic"), fail(ErrMissing, "missing (the topic %s readings arrive on)", owner))
		bad = true
	case perMeter:
	case hasKey(es, "topic_template") && (hasKey(es, "meter") || hasKey(es, "topic")):
		p.fail(n, path, fail(ErrInvalid, "give topic_template, or meter and topic, not both"))
		bad = true
	case !hasKey(es, "topic_template") && !(hasKey(es, "meter") && hasKey(es, "topic")):
		p.fail(n, path, fail(ErrMissing, "want topic_template (meter id from the topic), or meter and topic"))
		bad = true
	}
	if !hasKey(es, "format") {
		p.fail(n, keyPath(path, "format"), fail(ErrMissing, "missing (want %s)", strings.Join(Formats, ", ")))
		bad = true
	}
	switch s.Format {
	case FormatNumber, FormatStatestream:
		if fieldNode != nil {
			p.fail(fieldNode, keyPath(path, "field"), fail(ErrInvalid, "format %s has no fields", s.Format))
			bad = true
		}
		if timeNode != nil && s.TimeField != "-" {
			p.fail(timeNode, keyPath(path, "time_field"), fail(ErrInvalid, "format %s has no fields (only \"-\", arrival time)", s.Format))
			bad = true
		}
	case FormatJSON, FormatWMBusMeters, FormatTasmota:
		if fieldNode == nil && !hasKey(es, "field") {
			p.fail(formatNode, keyPath(path, "field"), fail(ErrMissing, "missing (format %s needs the path of the value, e.g. %s)", s.Format, fieldExample(s.Format)))
			bad = true
		}
	}
	return s, !bad
}

func fieldExample(format string) string {
	switch format {
	case FormatWMBusMeters:
		return "total_m3"
	case FormatTasmota:
		return "SML.Total_in"
	}
	return "params.total"
}

// checkFilter applies MQTT 3.1.1's filter rules: '+' and '#' fill a whole
// level and '#' is the last one.
func checkFilter(f string) error {
	if strings.TrimSpace(f) == "" {
		return fail(ErrInvalid, "empty topic")
	}
	if len(f) > 65535 || strings.ContainsRune(f, 0) {
		return fail(ErrInvalid, "not a valid topic %q", f)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fail(ErrInvalid, "topic %q: '#' must be the last level", f)
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return fail(ErrInvalid, "topic %q: a wildcard must fill a whole level", f)
		}
	}
	return nil
}

// checkTemplate checks a topic template: a topic filter with exactly one
// whole level MeterPlaceholder.
func checkTemplate(t string) error {
	levels := strings.Split(t, "/")
	at := -1
	for i, l := range levels {
		switch {
		case l == MeterPlaceholder && at >= 0:
			return fail(ErrInvalid, "topic_template %q: %s appears twice", t, MeterPlaceholder)
		case l == MeterPlaceholder:
			at = i
		case strings.ContainsAny(l, "{}"):
			return fail(ErrInvalid, "topic_template %q: %s must fill a whole level", t, MeterPlaceholder)
		}
	}
	if at < 0 {
		return fail(ErrInvalid, "topic_template %q has no %s level", t, MeterPlaceholder)
	}
	levels[at] = "+"
	return checkFilter(strings.Join(levels, "/"))
}

// MeterTopic returns the topic of meter id under a template.
func (s Subscription) MeterTopic(id string) string {
	return strings.Replace(s.TopicTemplate, MeterPlaceholder, id, 1)
}

func (p *fileParser) parseStorage(n *yaml.Node, path string, st *Storage) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"path":        drop(p.nonEmpty(&st.Path)),
		"max_size_mb": drop(p.intBetween(&st.MaxSizeMB, 1, 1<<20)),
	}})
}

func (p *fileParser) parseHTTP(n *yaml.Node, path string, h *HTTP) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"listen": func(v *yaml.Node, path string) {
			s, ok := p.str(v, path)
			if !ok {
				return
			}
			s = strings.TrimSpace(s)
			if s != "" {
				host, port, err := net.SplitHostPort(s)
				n, perr := strconv.Atoi(port)
				if err != nil || perr != nil || n < 0 || n > 65535 {
					p.fail(v, path, fail(ErrInvalid, "want host:port like 127.0.0.1:8099, or \"\" to disable, got %q", s))
					return
				}
				if ip := net.ParseIP(host); host == "" || ip != nil && !ip.IsLoopback() {
					p.notice(v, path, "listens beyond this machine: the status API has no authentication")
				}
			}
			h.Listen = s
		},
	}})
}

func (p *fileParser) parseAgent(n *yaml.Node, path string, a *Agent) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"debounce": func(v *yaml.Node, path string) {
			if d, ok := p.duration(v, path, true); ok {
				a.Debounce = d
			}
		},
	}})
}

// intBetween returns a field handler that stores an integer in [lo, hi].
func (p *fileParser) intBetween(dst *int, lo, hi int) func(*yaml.Node, string) bool {
	return func(v *yaml.Node, path string) bool {
		i, ok := p.int(v, path)
		if !ok {
			return false
		}
		if i < lo || i > hi {
			p.fail(v, path, fail(ErrInvalid, "must be %d to %d, got %d", lo, hi, i))
			return false
		}
		*dst = i
		return true
	}
}

// parseMeterMQTT reads a physical meter's own `mqtt:` block.
func (p *fileParser) parseMeterMQTT(v *yaml.Node, path string, m *Meter) {
	if s, ok := p.parseSubscription(v, path, "this meter's"); ok {
		m.MQTT = &s
	}
}

// checkMQTT checks what subscriptions say about meters: a fixed meter exists
// and is physical, and a payload unit of another dimension than the meter's
// (converted through gas_conversion) is pointed out. cp reports on
// config.yaml, mp on meters.yaml.
func checkMQTT(cp, mp *fileParser, c *Config) {
	byID := make(map[string]*Meter, len(c.Meters))
	for i := range c.Meters {
		byID[c.Meters[i].ID] = &c.Meters[i]
	}
	checkUnit := func(p *fileParser, s *Subscription, path string, m *Meter) {
		if s.Unit != "" && m.OutputUnit != "" && unitDimension(s.Unit) != unitDimension(m.OutputUnit) {
			p.notice(s.unitNode, path, "payload in %s for meter %q in %s: converted with gas_conversion (%g kWh/m³)", s.Unit, m.ID, m.OutputUnit, c.Gas.KWhPerM3())
		}
	}
	for i := range c.MQTT.Subscriptions {
		s := &c.MQTT.Subscriptions[i]
		path := indexPath("mqtt.subscriptions", i)
		if s.Meter == "" {
			continue
		}
		m, ok := byID[s.Meter]
		switch {
		case !ok:
			cp.fail(s.meterNode, keyPath(path, "meter"), fail(ErrUnknownMeter, "unknown meter %q (not in %s)", s.Meter, MetersFile))
		case m.Type != TypePhysical:
			cp.fail(s.meterNode, keyPath(path, "meter"), fail(ErrInvalid, "%q is a %s meter; readings belong to physical meters", s.Meter, m.Type))
		default:
			checkUnit(cp, s, keyPath(path, "unit"), m)
		}
	}
	for i := range c.Meters {
		m := &c.Meters[i]
		if m.MQTT == nil {
			continue
		}
		m.MQTT.Meter = m.ID
		checkUnit(mp, m.MQTT, fmt.Sprintf("meters[%d].mqtt.unit", i), m)
	}
	if c.MQTT.Broker == "" {
		return
	}
	n := len(c.MQTT.Subscriptions)
	for _, m := range c.Meters {
		if m.MQTT != nil {
			n++
		}
	}
	if t := c.OutdoorTemperature; t != nil && t.MQTT != nil {
		n++
	}
	if n == 0 {
		cp.notice(nil, "mqtt", "a broker but no subscriptions (mqtt.subscriptions, a meter's mqtt: block or outdoor_temperature.mqtt): nothing is received")
	}
}

func unitDimension(u string) string {
	switch u {
	case UnitM3, UnitL:
		return "volume"
	}
	return "energy"
}
