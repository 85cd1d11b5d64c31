package config

import "gopkg.in/yaml.v3"

// Defaults of the outdoor_temperature section.
const (
	DefaultTemperatureID   = "outdoor_temperature"
	DefaultBaseTemperature = 15.5 // °C, the UK degree-day base
)

// Bounds of base_temperature in °C. Heating degree days count below the
// base; a base at or below freezing would count almost none in a heated
// climate, and processing reads 0 as "default", so 0 cannot mean 0 °C.
const (
	minBaseTemperature = 0  // exclusive
	maxBaseTemperature = 30 // inclusive
)

// OutdoorTemperature is the optional `outdoor_temperature:` section: an
// outdoor temperature series in °C whose heating degree days the learned
// profiles of the meters may follow. Its readings are stored under ID like a
// meter's and arrive by MQTT or in readings CSVs (InfluxDB is not read).
// It is not a meter: it has no daily series of its own.
type OutdoorTemperature struct {
	// ID names the series in the store and in the meter_id column of
	// readings CSVs; it must not be a meter id.
	ID string
	// BaseTemperature in °C: heating degree days count how far a day's mean
	// temperature is below it.
	BaseTemperature float64
	// MQTT is where readings arrive (Meter set to ID, Unit empty: values
	// are °C), or nil for none.
	MQTT *Subscription
	Line int // line of the section in config.yaml

	node, idNode *yaml.Node
}

// parseTemperature reads the outdoor_temperature section into *dst.
func (p *fileParser) parseTemperature(n *yaml.Node, path string, dst **OutdoorTemperature) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	t := &OutdoorTemperature{ID: DefaultTemperatureID, BaseTemperature: DefaultBaseTemperature, Line: lineOf(n), node: n}
	p.walk(es, path, schema{fields: map[string]func(*yaml.Node, string){
		"id": func(v *yaml.Node, path string) {
			if s, ok := p.id(v, path, "id"); ok {
				t.ID, t.idNode = s, v
			}
		},
		"base_temperature": func(v *yaml.Node, path string) {
			f, ok := p.float(v, path)
			if !ok {
				return
			}
			if f <= minBaseTemperature || f > maxBaseTemperature {
				p.fail(v, path, fail(ErrInvalid, "want °C above %d and at most %d (heating degree days count below it), got %v", minBaseTemperature, maxBaseTemperature, f))
				return
			}
			t.BaseTemperature = f
		},
		"mqtt": func(v *yaml.Node, path string) {
			v = p.withoutUnit(v, path)
			if s, ok := p.parseSubscription(v, path, "the outdoor temperature's"); ok {
				t.MQTT = &s
			}
		},
	}})
	if t.MQTT != nil {
		t.MQTT.Meter = t.ID
	}
	*dst = t
}

// withoutUnit reports a unit key in the temperature's mqtt block, whose
// values are °C (the subscription's units are meter units), and returns the
// block without it so that the rest is still checked.
func (p *fileParser) withoutUnit(n *yaml.Node, path string) *yaml.Node {
	m := deref(n)
	if m == nil || m.Kind != yaml.MappingNode {
		return n
	}
	var unit *yaml.Node
	content := make([]*yaml.Node, 0, len(m.Content))
	for i := 0; i+1 < len(m.Content); i += 2 {
		if deref(m.Content[i]).Value == "unit" {
			unit = m.Content[i]
			continue
		}
		content = append(content, m.Content[i], m.Content[i+1])
	}
	if unit == nil {
		return n
	}
	p.fail(unit, keyPath(path, "unit"), fail(ErrInvalid, "temperatures are read in °C; the mqtt block of outdoor_temperature takes no unit"))
	c := *m
	c.Content = content
	return &c
}

// checkTemperature rejects a temperature id that is also a meter id: the
// store and readings CSVs tell series apart by id alone.
func checkTemperature(p *fileParser, c *Config) {
	t := c.OutdoorTemperature
	if t == nil {
		return
	}
	for _, m := range c.Meters {
		if m.ID != t.ID {
			continue
		}
		at, how := t.idNode, ""
		if at == nil {
			at, how = t.node, " (the default id; set outdoor_temperature.id)"
		}
		p.fail(at, "outdoor_temperature.id", fail(ErrDuplicate, "%q is a meter in %s (line %d); the temperature series needs an id of its own%s", t.ID, MetersFile, m.Line, how))
		return
	}
}

// TemperatureID returns the id of the configured temperature series, or ""
// when the section is absent.
func (c *Config) TemperatureID() string {
	if c.OutdoorTemperature == nil {
		return ""
	}
	return c.OutdoorTemperature.ID
}
