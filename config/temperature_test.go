package config_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meteragent/meteragent/config"
)

func TestTemperatureAbsent(t *testing.T) {
	c := mustLoad(t, filepath.Join(fixtures, "minimal"))
	if c.OutdoorTemperature != nil || c.TemperatureID() != "" {
		t.Errorf("no section, but OutdoorTemperature = %+v, TemperatureID = %q", c.OutdoorTemperature, c.TemperatureID())
	}
	// A null section is absent, like every other key written without a value.
	c = mustLoad(t, writeDir(t, map[string]string{"config.yaml": "outdoor_temperature:\n", "meters.yaml": onePhysical}))
	if c.OutdoorTemperature != nil {
		t.Errorf("null section loaded as %+v", c.OutdoorTemperature)
	}
}

func TestTemperatureFixture(t *testing.T) {
	c := mustLoad(t, filepath.Join(fixtures, "temperature"))
	ot := c.OutdoorTemperature
	if ot == nil {
		t.Fatal("OutdoorTemperature = nil")
	}
	if ot.ID != "aussen_temp" || c.TemperatureID() != "aussen_temp" || ot.BaseTemperature != 18 || ot.Line != 5 {
		t.Errorf("OutdoorTemperature = %+v, want id aussen_temp, base 18, line 5", ot)
	}
	want := config.Subscription{Topic: "homeassistant/sensor/outdoor_temperature/state", Meter: "aussen_temp", Format: config.FormatStatestream, Line: 8}
	if ot.MQTT == nil {
		t.Fatal("MQTT = nil")
	}
	got := *ot.MQTT
	if got.Topic != want.Topic || got.Meter != want.Meter || got.Format != want.Format || got.Unit != "" || got.Line != want.Line {
		t.Errorf("MQTT = %+v, want %+v", got, want)
	}
	if n := notices(c); len(n) != 0 {
		t.Errorf("notices = %q, want none", n)
	}
}

func TestTemperatureDefaults(t *testing.T) {
	tests := []struct {
		name, config string
		wantID       string
		wantBase     float64
		wantMQTT     bool
	}{
		{"empty mapping", "outdoor_temperature: {}\n", config.DefaultTemperatureID, 15.5, false},
		{"base only", "outdoor_temperature:\n  base_temperature: 12\n", config.DefaultTemperatureID, 12, false},
		{"fractional base", "outdoor_temperature: {base_temperature: 15.5}\n", config.DefaultTemperatureID, 15.5, false},
		{"json payload", "outdoor_temperature:\n  id: t\n  mqtt: {topic: \"weather/+/outdoor\", format: json, field: main.temp, time_field: dt}\n", "t", 15.5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, writeDir(t, map[string]string{"config.yaml": tt.config, "meters.yaml": onePhysical}))
			ot := c.OutdoorTemperature
			if ot == nil {
				t.Fatal("OutdoorTemperature = nil")
			}
			if ot.ID != tt.wantID || ot.BaseTemperature != tt.wantBase || (ot.MQTT != nil) != tt.wantMQTT {
				t.Errorf("OutdoorTemperature = %+v, want id %q, base %v, mqtt %v", ot, tt.wantID, tt.wantBase, tt.wantMQTT)
			}
			if ot.MQTT != nil && ot.MQTT.Meter != ot.ID {
				t.Errorf("subscription's meter %q, want the series id %q", ot.MQTT.Meter, ot.ID)
			}
		})
	}
}

func TestTemperatureErrors(t *testing.T) {
	sec := func(body string) string { return "outdoor_temperature:\n" + body }
	tests := []struct {
		name, config string
		sentinel     error
		want         string
	}{
		{"not a mapping", "outdoor_temperature: 18\n", config.ErrInvalid,
			`config.yaml:1: outdoor_temperature: want a mapping of keys, got 18`},
		{"typo", sec("  base_temprature: 15\n"), config.ErrUnknownKey,
			`config.yaml:2: outdoor_temperature.base_temprature: unknown key (did you mean base_temperature?)`},
		{"blank in id", sec("  id: outdoor temp\n"), config.ErrInvalid,
			`config.yaml:2: outdoor_temperature.id: id "outdoor temp" must not be empty or contain blanks, '/', '+' or '#'`},
		{"empty id", sec("  id: \"\"\n"), config.ErrInvalid,
			`config.yaml:2: outdoor_temperature.id: id "" must not be empty or contain blanks, '/', '+' or '#'`},
		{"base not a number", sec("  base_temperature: warm\n"), config.ErrInvalid,
			`config.yaml:2: outdoor_temperature.base_temperature: want a number, got "warm"`},
		{"base zero", sec("  base_temperature: 0\n"), config.ErrInvalid,
			`config.yaml:2: outdoor_temperature.base_temperature: want °C above 0 and at most 30 (heating degree days count below it), got 0`},
		{"base in fahrenheit", sec("  base_temperature: 65\n"), config.ErrInvalid,
			`config.yaml:2: outdoor_temperature.base_temperature: want °C above 0 and at most 30 (heating degree days count below it), got 65`},
		{"mqtt without topic", sec("  mqtt: {format: number}\n"), config.ErrMissing,
			`config.yaml:2: outdoor_temperature.mqtt.topic: missing (the topic the outdoor temperature's readings arrive on)`},
		{"mqtt without format", sec("  mqtt: {topic: weather/t}\n"), config.ErrMissing,
			`config.yaml:2: outdoor_temperature.mqtt.format: missing (want number, json, statestream, wmbusmeters, aiontheedge, tasmota)`},
		{"mqtt json needs field", sec("  mqtt:\n    topic: weather/t\n    format: json\n"), config.ErrMissing,
			`config.yaml:4: outdoor_temperature.mqtt.field: missing (format json needs the path of the value, e.g. params.total)`},
		{"mqtt bad topic", sec("  mqtt: {topic: \"weather/#/t\", format: number}\n"), config.ErrInvalid,
			`config.yaml:2: outdoor_temperature.mqtt.topic: topic "weather/#/t": '#' must be the last level`},
		{"mqtt names a meter", sec("  mqtt: {topic: t, format: number, meter: p}\n"), config.ErrUnknownKey,
			`config.yaml:2: outdoor_temperature.mqtt.meter: unknown key`},
		{"mqtt unit", sec("  mqtt:\n    topic: t\n    format: number\n    unit: °C\n"), config.ErrInvalid,
			`config.yaml:5: outdoor_temperature.mqtt.unit: temperatures are read in °C; the mqtt block of outdoor_temperature takes no unit`},
		{"id clashes with a meter", sec("  base_temperature: 16\n  id: p\n"), config.ErrDuplicate,
			`config.yaml:3: outdoor_temperature.id: "p" is a meter in meters.yaml (line 2); the temperature series needs an id of its own`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(writeDir(t, map[string]string{"config.yaml": tt.config, "meters.yaml": onePhysical}))
			if err == nil {
				t.Fatalf("Load succeeded, want %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Load error =\n%q\nwant\n%q", got, tt.want)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v does not wrap %v", err, tt.sentinel)
			}
		})
	}
}

// A meter named like the default id clashes too, and the message says that
// the id was the default and how to change it.
func TestTemperatureDefaultIDClash(t *testing.T) {
	meters := onePhysical + "  - meter_id: outdoor_temperature\n    type: physical\n    output_unit: kWh\n    installation_date: 2020-01-01\n"
	_, err := config.Load(writeDir(t, map[string]string{"config.yaml": "timezone: UTC\noutdoor_temperature:\n  base_temperature: 15\n", "meters.yaml": meters}))
	want := `config.yaml:3: outdoor_temperature.id: "outdoor_temperature" is a meter in meters.yaml (line 6); the temperature series needs an id of its own (the default id; set outdoor_temperature.id)`
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %q", err, want)
	}
}

// FuzzLoadTemperature fuzzes the section: Load never panics, every error
// names config.yaml, and a loaded series has a valid id that no meter has, a
// base in range and a subscription of its own id without a unit.
func FuzzLoadTemperature(f *testing.F) {
	f.Add("outdoor_temperature:\n  id: t\n  base_temperature: 18\n  mqtt: {topic: \"a/+/b\", format: json, field: x.y, time_field: \"-\"}\n")
	f.Add("outdoor_temperature: {id: p, base_temperature: 0, mqtt: {unit: kWh, topic: \"#\"}}\n")
	f.Add("outdoor_temperature: {mqtt: [a], base_temperature: .nan}\n")
	f.Add("outdoor_temperature: &a {mqtt: *a}\n")
	f.Fuzz(func(t *testing.T, cfg string) {
		c, err := config.Load(writeDir(t, map[string]string{"config.yaml": cfg, "meters.yaml": onePhysical}))
		if err != nil {
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				if !strings.HasPrefix(e.Error(), "config.yaml") {
					t.Fatalf("error without config.yaml: %v", e)
				}
			}
			return
		}
		ot := c.OutdoorTemperature
		if ot == nil {
			return
		}
		if strings.TrimSpace(ot.ID) == "" || strings.ContainsAny(ot.ID, " /+#") {
			t.Fatalf("id %q loaded", ot.ID)
		}
		if _, clash := c.Meter(ot.ID); clash {
			t.Fatalf("id %q of a meter loaded", ot.ID)
		}
		if !(ot.BaseTemperature > 0 && ot.BaseTemperature <= 30) {
			t.Fatalf("base %v loaded", ot.BaseTemperature)
		}
		if s := ot.MQTT; s != nil && (s.Meter != ot.ID || s.Topic == "" || s.Unit != "" || s.TopicTemplate != "") {
			t.Fatalf("subscription %+v loaded for %q", s, ot.ID)
		}
	})
}
