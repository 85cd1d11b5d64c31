package mqtt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format names a payload layout that producers of meter readings publish.
type Format string

// Payload formats. The quoted examples are real payloads (see testdata/mqtt).
const (
	// FormatNumber is a plain decimal number, e.g. Shelly Gen1's
	// "shellies/<id>/emeter/0/total" → "10533.1" or AI-on-the-edge's
	// "<main>/main/value" → "679.2415". Surrounding whitespace is allowed;
	// anything else, including a unit ("123.4 kWh") or a decimal comma, is
	// rejected: a unit that disagrees with the configured Scale would
	// silently be off by a factor of 1000.
	FormatNumber Format = "number"
	// FormatJSON is a JSON object; Field (required) and TimeField (optional)
	// are dotted paths such as "params.em1:0.total_act_energy".
	FormatJSON Format = "json"
	// FormatStatestream is Home Assistant's mqtt_statestream
	// "<base>/<domain>/<entity>/state": the raw state string. "unavailable"
	// and "unknown" are rejected with ErrUnavailable so they are counted.
	FormatStatestream Format = "statestream"
	// FormatWMBusMeters is wmbusmeters' JSON; Field names the value (e.g.
	// "total_m3"), TimeField defaults to "timestamp" (UTC).
	FormatWMBusMeters Format = "wmbusmeters"
	// FormatAIOnTheEdge is AI-on-the-edge-device's "<main>/main/json", whose
	// fields are all strings. Field defaults to "value" and TimeField to
	// "timestamp" (%Y-%m-%dT%H:%M:%S%z); an "error" other than "no error"
	// is rejected with ErrDeviceError.
	FormatAIOnTheEdge Format = "aiontheedge"
	// FormatTasmota is Tasmota's "tele/<topic>/SENSOR" (or a STATUS10
	// reply, whose object is wrapped in "StatusSNS"). Field is relative to
	// that object (e.g. "SML.Total_in") and TimeField defaults to "Time",
	// which is local time without offset: it is read in Location.
	FormatTasmota Format = "tasmota"
)

// Formats lists every supported Format.
var Formats = []Format{FormatNumber, FormatJSON, FormatStatestream, FormatWMBusMeters, FormatAIOnTheEdge, FormatTasmota}

// NoTime as a Spec.TimeField makes a JSON format ignore the payload's time and
// use the arrival time, for producers whose clock cannot be trusted.
const NoTime = "-"

// maxFuture is how far after its arrival a payload's timestamp may lie. More
// than this is a device clock or zone mistake, and storing it would put a
// reading in the future.
const maxFuture = 24 * time.Hour

// minTime is the earliest credible reading time. ESP-based producers send
// 1970 timestamps until NTP has synced.
var minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Spec says how to read one value out of a payload.
type Spec struct {
	Format Format
	// Field is the dotted path of the value in JSON formats. Array elements
	// are addressed by index ("values.0"). Keys that contain a dot cannot be
	// addressed.
	Field string
	// TimeField is the dotted path of the reading's timestamp; empty means
	// the format's default (none for json), NoTime means arrival time.
	// The timestamp may be RFC 3339 with or without fraction, "Z", "+01:00",
	// "+0100" or no offset at all (then read in Location), with 'T' or a
	// space between date and time, or Unix epoch seconds or milliseconds
	// (as a number or numeric string).
	TimeField string
	// Scale multiplies the value to get the meter's unit (0.001 for Wh→kWh
	// or L→m³). Zero means 1.
	Scale float64
	// Location is the zone of timestamps without offset; nil means UTC.
	Location *time.Location
}

// Decoder reads the reading's time and value from payloads of one Spec. It is
// pure and safe for concurrent use.
type Decoder struct {
	format    Format
	field     []string
	timeField []string // nil: arrival time
	// timeOptional lets a format's default time field be absent (then the
	// arrival time is used); a configured one must be present, so a typo
	// does not silently turn into arrival times.
	timeOptional bool
	scale        float64
	loc          *time.Location
}

// NewDecoder checks s and returns its Decoder.
func NewDecoder(s Spec) (*Decoder, error) {
	d := &Decoder{format: s.Format, scale: s.Scale, loc: s.Location}
	if d.scale == 0 {
		d.scale = 1
	}
	if math.IsNaN(d.scale) || math.IsInf(d.scale, 0) || d.scale < 0 {
		return nil, fmt.Errorf("scale %v: must be a positive number: %w", s.Scale, ErrInvalidOption)
	}
	if d.loc == nil {
		d.loc = time.UTC
	}
	field, timeField := s.Field, s.TimeField
	d.timeOptional = timeField == ""
	switch s.Format {
	case FormatNumber, FormatStatestream:
		if field != "" || (timeField != "" && timeField != NoTime) {
			return nil, fmt.Errorf("format %s has no fields (field %q, time field %q): %w", s.Format, field, timeField, ErrInvalidOption)
		}
		return d, nil
	case FormatJSON:
	case FormatWMBusMeters:
		timeField = orDefault(timeField, "timestamp")
	case FormatAIOnTheEdge:
		field = orDefault(field, "value")
		timeField = orDefault(timeField, "timestamp")
	case FormatTasmota:
		timeField = orDefault(timeField, "Time")
	case "":
		return nil, fmt.Errorf("format missing: %w", ErrInvalidOption)
	default:
		return nil, fmt.Errorf("format %q: want one of %v: %w", s.Format, Formats, ErrInvalidOption)
	}
	var err error
	if d.field, err = parsePath(field); err != nil {
		return nil, fmt.Errorf("field %q: %w", field, err)
	}
	if timeField != "" && timeField != NoTime {
		if d.timeField, err = parsePath(timeField); err != nil {
			return nil, fmt.Errorf("time field %q: %w", timeField, err)
		}
	}
	if d.format == FormatTasmota {
		// Paths are relative to the SENSOR object, whichever way it arrives.
		d.field = trimWrapper(d.field)
		d.timeField = trimWrapper(d.timeField)
	}
	return d, nil
}

// tasmotaWrapper is the key a Tasmota STATUS10 reply wraps its sensor object in.
const tasmotaWrapper = "StatusSNS"

func trimWrapper(path []string) []string {
	if len(path) > 1 && path[0] == tasmotaWrapper {
		return path[1:]
	}
	return path
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func parsePath(p string) ([]string, error) {
	if p == "" {
		return nil, fmt.Errorf("empty path: %w", ErrInvalidOption)
	}
	parts := strings.Split(p, ".")
	for _, part := range parts {
		if part == "" {
			return nil, fmt.Errorf("empty path element: %w", ErrInvalidOption)
		}
	}
	return parts, nil
}

// Decode returns the time and the scaled value of the reading in payload.
// received is the arrival time, used when the format or payload carries no
// timestamp. Every error means the payload is rejected for good; its text is
// the reason recorded with the dead letter.
func (d *Decoder) Decode(payload []byte, received time.Time) (time.Time, float64, error) {
	r, err := d.decode(payload, received)
	return r.t, r.v, err
}

// sample is a decoded reading; stamped says its time came from the payload.
type sample struct {
	t       time.Time
	v       float64
	stamped bool
}

func (d *Decoder) decode(payload []byte, received time.Time) (sample, error) {
	r, err := d.decodeRaw(payload, received)
	if err != nil {
		return sample{}, err
	}
	r.v *= d.scale
	if math.IsInf(r.v, 0) {
		return sample{}, fmt.Errorf("value overflows after scaling by %v: %w", d.scale, ErrNotNumber)
	}
	return r, nil
}

func (d *Decoder) decodeRaw(payload []byte, received time.Time) (sample, error) {
	switch d.format {
	case FormatNumber:
		v, err := parseNumber(string(payload))
		return sample{t: received, v: v}, err
	case FormatStatestream:
		s := strings.TrimSpace(string(payload))
		switch strings.ToLower(s) {
		case "unavailable", "unknown", "none":
			return sample{}, fmt.Errorf("state %q: %w", s, ErrUnavailable)
		}
		v, err := parseNumber(s)
		return sample{t: received, v: v}, err
	}

	root, err := parseObject(payload)
	if err != nil {
		return sample{}, err
	}
	if d.format == FormatTasmota {
		// A STATUS10 reply wraps the tele/…/SENSOR object in StatusSNS.
		if inner, ok := root[tasmotaWrapper].(map[string]any); ok {
			root = inner
		}
	}
	if d.format == FormatAIOnTheEdge {
		if err := aiOnTheEdgeError(root); err != nil {
			return sample{}, err
		}
	}
	raw, err := lookup(root, d.field)
	if err != nil {
		return sample{}, err
	}
	v, err := jsonNumber(raw)
	if err != nil {
		return sample{}, fmt.Errorf("field %q: %w", strings.Join(d.field, "."), err)
	}
	if d.timeField == nil {
		return sample{t: received, v: v}, nil
	}
	rawTime, err := lookup(root, d.timeField)
	switch {
	case err != nil && d.timeOptional:
		return sample{t: received, v: v}, nil
	case err != nil:
		return sample{}, err
	}
	t, err := parseTime(rawTime, d.loc)
	if err != nil {
		return sample{}, fmt.Errorf("time field %q: %w", strings.Join(d.timeField, "."), err)
	}
	if t.Before(minTime) {
		return sample{}, fmt.Errorf("time %s is before %d (device clock not set?): %w", t.Format(time.RFC3339), minTime.Year(), ErrBadTime)
	}
	if t.Sub(received) > maxFuture {
		return sample{}, fmt.Errorf("time %s is more than %s after arrival %s: %w",
			t.Format(time.RFC3339), maxFuture, received.Format(time.RFC3339), ErrBadTime)
	}
	return sample{t: t, v: v, stamped: true}, nil
}

// parseObject decodes payload as exactly one JSON object. Numbers stay
// json.Number so large counters keep every digit until ParseFloat.
func parseObject(payload []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		return nil, ErrEmptyPayload
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidJSON, jsonErrorText(err))
	}
	if root == nil {
		return nil, fmt.Errorf("%w: want an object, got null", ErrInvalidJSON)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the object", ErrInvalidJSON)
	}
	return root, nil
}

// jsonErrorText keeps encoding/json's message but never lets the payload's
// own bytes (quoted in some messages) make the reason unreadable.
func jsonErrorText(err error) string {
	s := err.Error()
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	return s
}

func aiOnTheEdgeError(root map[string]any) error {
	e, ok := root["error"]
	if !ok {
		return nil
	}
	s, ok := e.(string)
	if !ok {
		return fmt.Errorf("error field is %s, want a string: %w", jsonKind(e), ErrDeviceError)
	}
	if s = strings.TrimSpace(s); s != "" && !strings.EqualFold(s, "no error") {
		return fmt.Errorf("%w: %q", ErrDeviceError, s)
	}
	return nil
}

func lookup(root map[string]any, path []string) (any, error) {
	var cur any = root
	for i, key := range path {
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[key]
			if !ok {
				return nil, fmt.Errorf("field %q: %w", strings.Join(path[:i+1], "."), ErrNoField)
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(key)
			if err != nil || n < 0 || n >= len(c) {
				return nil, fmt.Errorf("field %q: array has %d elements: %w", strings.Join(path[:i+1], "."), len(c), ErrNoField)
			}
			cur = c[n]
		default:
			return nil, fmt.Errorf("field %q: %s has no fields: %w", strings.Join(path[:i+1], "."), jsonKind(c), ErrNoField)
		}
	}
	if cur == nil {
		return nil, fmt.Errorf("field %q is null: %w", strings.Join(path, "."), ErrNoField)
	}
	return cur, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// jsonNumber accepts a JSON number or a string holding one, because
// AI-on-the-edge (and others) send every value as a string.
func jsonNumber(v any) (float64, error) {
	switch n := v.(type) {
	case json.Number:
		return parseNumber(n.String())
	case string:
		if strings.TrimSpace(n) == "" {
			return 0, fmt.Errorf("empty string: %w", ErrNotNumber)
		}
		return parseNumber(n)
	}
	return 0, fmt.Errorf("%s: %w", jsonKind(v), ErrNotNumber)
}

func parseNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrEmptyPayload
	}
	// ParseFloat also takes hex floats, "Inf" and "NaN"; meters send
	// none of those, so only decimal digits, sign, point and exponent pass.
	if strings.Trim(s, "0123456789+-.eE") != "" {
		return 0, fmt.Errorf("%q: %w", clip(s), ErrNotNumber)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q: %w", clip(s), ErrNotNumber)
	}
	return v, nil
}

// clip shortens payload text quoted in a reason; the dead letter keeps the
// full payload anyway.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:n], "?") + "…"
}

// timeLayouts are tried in order. Go's parser accepts a fraction of a second
// after the seconds even when the layout has none.
var timeLayouts = []string{
	"2006-01-02T15:04:05Z07:00", // RFC 3339, "Z" or "+01:00"
	"2006-01-02T15:04:05Z0700",  // strftime %z: "+0100" (AI-on-the-edge)
	"2006-01-02T15:04:05Z07",    // "+01"
}

// parseTime reads a JSON timestamp: a string as described on Spec.TimeField,
// or a number of Unix seconds or milliseconds.
func parseTime(v any, loc *time.Location) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return time.Time{}, fmt.Errorf("%s: %w", jsonKind(v), ErrBadTime)
	}
	if s == "" {
		return time.Time{}, fmt.Errorf("empty: %w", ErrBadTime)
	}
	if strings.Trim(s, "0123456789.") == "" {
		return epoch(s)
	}
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: %w", clip(s), ErrBadTime)
}

// epoch reads decimal Unix seconds, or milliseconds when the number is too
// large to be seconds before the year 5000 (Zigbee2MQTT's last_seen
// "epoch"). It works on the digits, because float64 would turn Shelly's
// "1788945292.88" into …292.880000114.
func epoch(s string) (time.Time, error) {
	const maxSeconds = 95617584000 // 5000-01-01
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || whole == "" || strings.Contains(frac, ".") {
		return time.Time{}, fmt.Errorf("epoch %q: %w", clip(s), ErrBadTime)
	}
	millis := n >= maxSeconds
	if millis && n/1000 >= maxSeconds {
		return time.Time{}, fmt.Errorf("epoch %q out of range: %w", clip(s), ErrBadTime)
	}
	// Digits beyond nanoseconds are dropped.
	frac = (frac + "000000000")[:9]
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("epoch %q: %w", clip(s), ErrBadTime)
	}
	if millis {
		return time.Unix(n/1000, (n%1000)*int64(time.Millisecond)+ns/1000).UTC(), nil
	}
	return time.Unix(n, ns).UTC(), nil
}
