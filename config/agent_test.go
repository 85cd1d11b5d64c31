package config_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/config"
)

// agentMeters has a physical meter in kWh, one in m³ and a master.
const agentMeters = `meters:
  - meter_id: strom
    type: physical
    output_unit: kWh
    installation_date: 2020-01-01
  - meter_id: wasser
    type: physical
    output_unit: m³
    installation_date: 2020-01-01
    mqtt:
      topic: wmbusmeters/wasser
      format: wmbusmeters
      field: total_m3
  - meter_id: total
    type: master
    periods:
      - start_date: 2020-01-01
        source_meters: [strom]
`

func TestAgentDefaults(t *testing.T) {
	dir := writeDir(t, map[string]string{"config.yaml": "", "meters.yaml": agentMeters})
	c := mustLoad(t, dir)
	if c.MQTT.Broker != "" || c.MQTT.ClientID != "meteragent" || c.MQTT.MaxInflight != 1000 {
		t.Errorf("MQTT defaults = %+v", c.MQTT)
	}
	if c.HTTP.Listen != "127.0.0.1:8099" {
		t.Errorf("HTTP.Listen = %q, want loopback default", c.HTTP.Listen)
	}
	if c.Agent.Debounce != 5*time.Second {
		t.Errorf("Agent.Debounce = %v, want 5s", c.Agent.Debounce)
	}
	if c.Storage.MaxSizeMB != 960 {
		t.Errorf("Storage.MaxSizeMB = %d, want 960", c.Storage.MaxSizeMB)
	}
	if got, want := c.StoragePath(), filepath.Join(dir, "meteragent.db"); got != want {
		t.Errorf("StoragePath = %q, want %q", got, want)
	}
	m, _ := c.Meter("wasser")
	if m.MQTT == nil || m.MQTT.Meter != "wasser" || m.MQTT.Topic != "wmbusmeters/wasser" || m.MQTT.Format != "wmbusmeters" || m.MQTT.Field != "total_m3" {
		t.Errorf("wasser's mqtt block = %+v", m.MQTT)
	}
	if m, _ := c.Meter("strom"); m.MQTT != nil {
		t.Errorf("strom has an mqtt block %+v it did not write", m.MQTT)
	}
}

func TestStoragePath(t *testing.T) {
	tests := []struct {
		dir, path, want string
	}{
		{"/etc/meteragent", "", "/var/lib/meteragent/meteragent.db"},
		{"/etc/meteragent/", "", "/var/lib/meteragent/meteragent.db"},
		{"/home/pi/house", "", "/home/pi/house/meteragent.db"},
		{"/etc/meteragent", "data/m.db", "/etc/meteragent/data/m.db"},
		{"/home/pi/house", "/srv/m.db", "/srv/m.db"},
	}
	for _, tt := range tests {
		c := config.Config{Dir: tt.dir, Storage: config.Storage{Path: tt.path}}
		if got := c.StoragePath(); got != tt.want {
			t.Errorf("dir %q path %q: StoragePath = %q, want %q", tt.dir, tt.path, got, tt.want)
		}
	}
}

func TestAgentSections(t *testing.T) {
	t.Setenv("METERAGENT_TEST_PW", "s3cret")
	cfg := `mqtt:
  broker: ssl://broker.lan:8883
  client_id: pi-agent
  username: agent
  password: pre-${METERAGENT_TEST_PW}
  tls:
    ca_file: ca.pem
    server_name: broker
  max_inflight: 50
  subscriptions:
    - topic_template: "wmbusmeters/{meter}"
      format: WMBusMeters
      field: total_m3
      unit: L
    - meter: strom
      topic: shellies/em/emeter/0/total
      format: number
      unit: Wh
storage:
  path: /srv/meteragent.db
  max_size_mb: 100
http:
  listen: ""
agent:
  debounce: 2
`
	dir := writeDir(t, map[string]string{"config.yaml": cfg, "meters.yaml": agentMeters})
	c := mustLoad(t, dir)
	m := c.MQTT
	if m.Broker != "ssl://broker.lan:8883" || m.ClientID != "pi-agent" || m.Username != "agent" || m.MaxInflight != 50 {
		t.Errorf("MQTT = %+v", m)
	}
	if m.Password != "pre-s3cret" {
		t.Errorf("password not expanded from the environment")
	}
	if m.TLS.CAFile != filepath.Join(dir, "ca.pem") || m.TLS.ServerName != "broker" {
		t.Errorf("TLS = %+v, want ca_file resolved against %s", m.TLS, dir)
	}
	if len(m.Subscriptions) != 2 {
		t.Fatalf("subscriptions = %+v", m.Subscriptions)
	}
	s0, s1 := m.Subscriptions[0], m.Subscriptions[1]
	if s0.TopicTemplate != "wmbusmeters/{meter}" || s0.Format != "wmbusmeters" || s0.Unit != "L" || s0.Meter != "" || s0.Line != 11 {
		t.Errorf("subscription 0 = %+v", s0)
	}
	if got := s0.MeterTopic("wasser"); got != "wmbusmeters/wasser" {
		t.Errorf("MeterTopic = %q", got)
	}
	if s1.Meter != "strom" || s1.Topic != "shellies/em/emeter/0/total" || s1.Unit != "Wh" {
		t.Errorf("subscription 1 = %+v", s1)
	}
	if c.StoragePath() != "/srv/meteragent.db" || c.Storage.MaxSizeMB != 100 {
		t.Errorf("Storage = %+v", c.Storage)
	}
	if c.HTTP.Listen != "" {
		t.Errorf("http.listen \"\" should disable the server, got %q", c.HTTP.Listen)
	}
	if c.Agent.Debounce != 2*time.Second {
		t.Errorf("debounce = %v, want 2s", c.Agent.Debounce)
	}
}

func TestAgentSectionErrors(t *testing.T) {
	sub := func(body string) string { return "mqtt:\n  broker: tcp://localhost\n  subscriptions:\n    - " + body }
	tests := []struct {
		name, config, meters string
		want                 string
	}{
		{"broker scheme", "mqtt:\n  broker: http://localhost:1883\n", "",
			`config.yaml:2: mqtt.broker: want a broker URL like tcp://localhost:1883 (tcp, mqtt, ssl, tls or mqtts), got "http://localhost:1883"`},
		{"broker password redacted", "mqtt:\n  broker: ftp://u:hunter2@host\n", "",
			`config.yaml:2: mqtt.broker: want a broker URL like tcp://localhost:1883 (tcp, mqtt, ssl, tls or mqtts), got "ftp://u:xxxxx@host"`},
		{"unset variable", "mqtt:\n  password: ${METERAGENT_SURELY_UNSET}\n", "",
			`config.yaml:2: mqtt.password: environment variable METERAGENT_SURELY_UNSET is not set`},
		{"password twice", "mqtt:\n  password: x\n  password_file: p\n", "",
			`config.yaml:3: mqtt.password_file: give password or password_file, not both`},
		{"half a client certificate", "mqtt:\n  tls:\n    cert_file: c.pem\n", "",
			`config.yaml:3: mqtt.tls: cert_file and key_file go together`},
		{"max inflight", "mqtt:\n  max_inflight: 0\n", "",
			`config.yaml:2: mqtt.max_inflight: must be 1 to 65535, got 0`},
		{"subscriptions without broker", "mqtt:\n  subscriptions: []\n  client_id: x\n", "", ""},
		{"typo", "mqtt:\n  brokr: tcp://x\n", "", `config.yaml:2: mqtt.brokr: unknown key (did you mean broker?)`},
		{"unknown format", sub("{topic_template: \"a/{meter}\", format: xml}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].format: unknown format "xml" (want number, json, statestream, wmbusmeters, aiontheedge, tasmota)`},
		{"hash not last", sub("{meter: strom, topic: \"a/#/b\", format: number}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].topic: topic "a/#/b": '#' must be the last level`},
		{"partial wildcard", sub("{meter: strom, topic: \"a/b+\", format: number}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].topic: topic "a/b+": a wildcard must fill a whole level`},
		{"template without placeholder", sub("{topic_template: a/b, format: number}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].topic_template: topic_template "a/b" has no {meter} level`},
		{"placeholder inside a level", sub("{topic_template: \"a/x{meter}\", format: number}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].topic_template: topic_template "a/x{meter}": {meter} must fill a whole level`},
		{"template and meter", sub("{topic_template: \"a/{meter}\", meter: strom, format: number}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0]: give topic_template, or meter and topic, not both`},
		{"meter without topic", sub("{meter: strom, format: number}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0]: want topic_template (meter id from the topic), or meter and topic`},
		{"no format", sub("{meter: strom, topic: a}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].format: missing (want number, json, statestream, wmbusmeters, aiontheedge, tasmota)`},
		{"json needs field", sub("{meter: strom, topic: a, format: json}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].field: missing (format json needs the path of the value, e.g. params.total)`},
		{"number has no field", sub("{meter: strom, topic: a, format: number, field: x}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].field: format number has no fields`},
		{"number may use arrival time", sub("{meter: strom, topic: a, format: number, time_field: \"-\"}\n"), "", ""},
		{"bad unit", sub("{meter: strom, topic: a, format: number, unit: kW}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].unit: unsupported unit "kW" (want Wh, kWh, MWh, m³, m3 or L)`},
		{"unknown meter", sub("{meter: gas, topic: a, format: number}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].meter: unknown meter "gas" (not in meters.yaml)`},
		{"master meter", sub("{meter: total, topic: a, format: number}\n"), "",
			`config.yaml:4: mqtt.subscriptions[0].meter: "total" is a master meter; readings belong to physical meters`},
		{"meter block without topic", "", "    mqtt: {format: number}\n",
			`meters.yaml:6: meters[0].mqtt.topic: missing (the topic this meter's readings arrive on)`},
		{"meter block has no meter key", "", "    mqtt: {topic: a, format: number, meter: x}\n",
			`meters.yaml:6: meters[0].mqtt.meter: unknown key`},
		{"listen", "http:\n  listen: localhost\n", "",
			`config.yaml:2: http.listen: want host:port like 127.0.0.1:8099, or "" to disable, got "localhost"`},
		{"debounce", "agent:\n  debounce: -1s\n", "",
			`config.yaml:2: agent.debounce: want a positive number of seconds or a duration like "30s", got "-1s"`},
		{"max size", "storage:\n  max_size_mb: 0\n", "",
			`config.yaml:2: storage.max_size_mb: must be 1 to 1048576, got 0`},
	}
	base := "meters:\n  - meter_id: strom\n    type: physical\n    output_unit: kWh\n    installation_date: 2020-01-01\n"
	master := "  - meter_id: total\n    type: master\n    periods:\n      - {start_date: 2020-01-01, source_meters: [strom]}\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meters := base + tt.meters + master
			_, err := config.Load(writeDir(t, map[string]string{"config.yaml": tt.config, "meters.yaml": meters}))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Load error =\n%q\nwant\n%q", got, tt.want)
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("error shows the password: %q", got)
			}
		})
	}
}

func TestAgentNotices(t *testing.T) {
	cfg := `mqtt:
  broker: tcp://localhost
  tls:
    insecure_skip_verify: true
  subscriptions:
    - {meter: strom, topic: a, format: number, unit: m3}
http:
  listen: 0.0.0.0:8099
`
	c := mustLoad(t, writeDir(t, map[string]string{"config.yaml": cfg, "meters.yaml": agentMeters}))
	got := strings.Join(notices(c), "\n")
	for _, want := range []string{
		"config.yaml:4: mqtt.tls.insecure_skip_verify: the broker's certificate is not checked",
		`config.yaml:6: mqtt.subscriptions[0].unit: payload in m³ for meter "strom" in kWh: converted with gas_conversion`,
		"config.yaml:8: http.listen: listens beyond this machine",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("notices lack %q; got:\n%s", want, got)
		}
	}

	c = mustLoad(t, writeDir(t, map[string]string{"config.yaml": "mqtt:\n  broker: tcp://localhost\n", "meters.yaml": onePhysical}))
	if got, want := strings.Join(notices(c), "\n"), "config.yaml: mqtt: a broker but no subscriptions (mqtt.subscriptions, a meter's mqtt: block or outdoor_temperature.mqtt): nothing is received"; got != want {
		t.Errorf("a broker without subscriptions: notices = %q, want %q", got, want)
	}
	// The outdoor temperature's own block is a subscription too.
	c = mustLoad(t, writeDir(t, map[string]string{
		"config.yaml": "mqtt:\n  broker: tcp://localhost\noutdoor_temperature:\n  mqtt: {topic: weather/t, format: number}\n",
		"meters.yaml": onePhysical}))
	if got := notices(c); len(got) != 0 {
		t.Errorf("a broker with only the temperature's subscription: notices = %q, want none", got)
	}
	c = mustLoad(t, writeDir(t, map[string]string{"config.yaml": "", "meters.yaml": onePhysical + "    mqtt: {topic: a, format: number}\n"}))
	if got := notices(c); len(got) != 0 {
		t.Errorf("a meter block without a broker should load quietly (MQTT off), got %q", got)
	}
}

// A master meter's mqtt: block is another type's key: accepted with a notice,
// like the other keys of the wrong type.
func TestMeterMQTTOnMaster(t *testing.T) {
	meters := onePhysical + "  - meter_id: m\n    type: master\n    mqtt: {topic: a, format: number}\n    periods:\n      - {start_date: 2020-01-01, source_meters: [p]}\n"
	c := mustLoad(t, writeDir(t, map[string]string{"config.yaml": "", "meters.yaml": meters}))
	if got := strings.Join(notices(c), "\n"); !strings.Contains(got, "meters[1].mqtt: ignored for master meters") {
		t.Errorf("notices = %q", got)
	}
	if m, _ := c.Meter("m"); m.MQTT != nil {
		t.Errorf("master got an mqtt block")
	}
}

// FuzzLoadAgentSections fuzzes config.yaml around the agent's sections:
// Load never panics, every error names its file, and what loads is usable.
func FuzzLoadAgentSections(f *testing.F) {
	f.Add("mqtt:\n  broker: tcp://localhost\n  subscriptions:\n    - {topic_template: \"a/{meter}/+\", format: json, field: x.y, unit: L}\n    - {meter: strom, topic: \"t/#\", format: number}\nhttp: {listen: \"[::1]:0\"}\nstorage: {path: x.db, max_size_mb: 5}\nagent: {debounce: 1.5}\n")
	f.Add("mqtt: {broker: \"ssl://u:p@h:1\", tls: {cert_file: a}, password: \"${X\", max_inflight: 70000}\n")
	f.Add("mqtt:\n  subscriptions:\n    - topic_template: \"{meter}/{meter}\"\n    - meter: wasser\n      topic: \"+/#/x\"\n")
	f.Add("http: {listen: \":http\"}\nmqtt: {broker: \"tcp://\", client_id: \"\"}\n")
	f.Fuzz(func(t *testing.T, cfg string) {
		dir := writeDir(t, map[string]string{"config.yaml": cfg, "meters.yaml": agentMeters})
		c, err := config.Load(dir)
		if err != nil {
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				if s := e.Error(); !strings.HasPrefix(s, "config.yaml") && !strings.HasPrefix(s, "meters.yaml") {
					t.Fatalf("error without a file name: %v", e)
				}
			}
			return
		}
		for _, s := range c.MQTT.Subscriptions {
			if !slices.Contains(config.Formats, s.Format) {
				t.Fatalf("subscription with format %q loaded", s.Format)
			}
			switch {
			case s.TopicTemplate != "" && (s.Meter != "" || s.Topic != ""),
				s.TopicTemplate == "" && (s.Meter == "" || s.Topic == ""):
				t.Fatalf("subscription loaded with neither template nor meter and topic: %+v", s)
			case s.TopicTemplate != "" && strings.Count(s.TopicTemplate, config.MeterPlaceholder) != 1:
				t.Fatalf("template %q loaded", s.TopicTemplate)
			}
			if m, ok := c.Meter(s.Meter); s.Meter != "" && (!ok || m.Type != config.TypePhysical) {
				t.Fatalf("subscription of meter %q (%+v) loaded", s.Meter, m)
			}
		}
		if c.MQTT.MaxInflight < 1 || c.MQTT.MaxInflight > 65535 || c.Agent.Debounce <= 0 || c.Storage.MaxSizeMB < 1 {
			t.Fatalf("out-of-range values loaded: %+v %+v %+v", c.MQTT, c.Agent, c.Storage)
		}
	})
}
