package mqtt_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/agent/mqtt"
)

const samples = "../../testdata/mqtt"

func mustReadSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// closeTo compares values that went through a decimal scale factor.
func closeTo(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

// TestDecodeSamples decodes every real-shaped payload in testdata/mqtt. The
// expected values and times are read off the payload text itself.
func TestDecodeSamples(t *testing.T) {
	berlin := mustLocation(t, "Europe/Berlin")
	// arrival is a day after the newest sample time, so no payload time
	// counts as "in the future" and arrival-time cases are recognisable.
	arrival := mustTime(t, "2026-09-09T12:00:00Z")
	tests := []struct {
		file     string
		spec     mqtt.Spec
		received time.Time // zero: arrival
		want     float64
		wantTime time.Time // zero: the arrival time
		wantErr  error
	}{
		{file: "wmbusmeters-iperl.json", spec: mqtt.Spec{Format: mqtt.FormatWMBusMeters, Field: "total_m3"},
			want: 123.529, wantTime: mustTime(t, "2024-03-03T18:37:00Z")},
		{file: "wmbusmeters-iperl.json", spec: mqtt.Spec{Format: mqtt.FormatWMBusMeters, Field: "total_m3", Scale: 1000},
			want: 123529, wantTime: mustTime(t, "2024-03-03T18:37:00Z")},
		{file: "wmbusmeters-iperl.json", spec: mqtt.Spec{Format: mqtt.FormatWMBusMeters, Field: "total_kwh"},
			wantErr: mqtt.ErrNoField},
		{file: "aiontheedge-main-json.json", spec: mqtt.Spec{Format: mqtt.FormatAIOnTheEdge},
			want: 679.2415, wantTime: mustTime(t, "2023-01-15T09:30:00Z")},
		{file: "aiontheedge-neg-rate.json", spec: mqtt.Spec{Format: mqtt.FormatAIOnTheEdge},
			wantErr: mqtt.ErrDeviceError},
		{file: "aiontheedge-main-value.txt", spec: mqtt.Spec{Format: mqtt.FormatNumber},
			want: 679.2415},
		// Tasmota's Time is local: 13:01:11 in Berlin summer time is 11:01:11 UTC.
		{file: "tasmota-tele-sensor.json", spec: mqtt.Spec{Format: mqtt.FormatTasmota, Field: "SML.Total_in", Location: berlin},
			want: 34507.4761, wantTime: mustTime(t, "2022-07-07T11:01:11Z")},
		{file: "tasmota-tele-sensor.json", spec: mqtt.Spec{Format: mqtt.FormatTasmota, Field: "SML.Total_out", Location: berlin},
			want: 14737.1422, wantTime: mustTime(t, "2022-07-07T11:01:11Z")},
		{file: "tasmota-status10.json", spec: mqtt.Spec{Format: mqtt.FormatTasmota, Field: "SML.Total_in", Location: berlin},
			want: 34507.4761, wantTime: mustTime(t, "2022-07-07T11:01:11Z")},
		{file: "tasmota-status10.json", spec: mqtt.Spec{Format: mqtt.FormatTasmota, Field: "StatusSNS.Gas.Count", Location: berlin},
			want: 1.84, wantTime: mustTime(t, "2022-07-07T11:01:11Z")},
		{file: "tasmota-status10.json", spec: mqtt.Spec{Format: mqtt.FormatTasmota, Field: "SML.Total_in"},
			want: 34507.4761, wantTime: mustTime(t, "2022-07-07T13:01:11Z")}, // no Location: UTC
		{file: "tasmota-tele-sensor.json", spec: mqtt.Spec{Format: mqtt.FormatTasmota, Field: "SML.Meter_number"},
			wantErr: mqtt.ErrNotNumber},
		{file: "tasmota-tele-sensor.json", spec: mqtt.Spec{Format: mqtt.FormatTasmota, Field: "TempUnit"},
			wantErr: mqtt.ErrNotNumber},
		{file: "shelly-gen1-emeter-total.txt", spec: mqtt.Spec{Format: mqtt.FormatNumber, Scale: 0.001},
			want: 10.5331},
		{file: "shelly-gen2-em1data.json", spec: mqtt.Spec{Format: mqtt.FormatJSON, Field: "total_act_energy", Scale: 0.001},
			want: 1.26415},
		{file: "shelly-gen2-notifystatus.json", spec: mqtt.Spec{Format: mqtt.FormatJSON, Field: "params.switch:0.apower", TimeField: "params.ts"},
			want: 11.5, wantTime: time.Unix(1788945292, 880_000_000)},
		{file: "zigbee2mqtt-ts011f.json", spec: mqtt.Spec{Format: mqtt.FormatJSON, Field: "energy", TimeField: "last_seen"},
			want: 12.05, wantTime: mustTime(t, "2026-07-27T07:41:41Z")},
		{file: "zigbee2mqtt-ts011f.json", spec: mqtt.Spec{Format: mqtt.FormatJSON, Field: "energy", TimeField: mqtt.NoTime},
			want: 12.05},
		{file: "zigbee2mqtt-ts011f.json", spec: mqtt.Spec{Format: mqtt.FormatJSON, Field: "state"},
			wantErr: mqtt.ErrNotNumber},
		// The arrival an hour before last_seen is within the tolerated clock skew.
		{file: "zigbee2mqtt-ts011f.json", spec: mqtt.Spec{Format: mqtt.FormatJSON, Field: "energy", TimeField: "last_seen"},
			received: mustTime(t, "2026-07-27T06:41:41Z"), want: 12.05, wantTime: mustTime(t, "2026-07-27T07:41:41Z")},
		// …but two days before it is a wrong device clock.
		{file: "zigbee2mqtt-ts011f.json", spec: mqtt.Spec{Format: mqtt.FormatJSON, Field: "energy", TimeField: "last_seen"},
			received: mustTime(t, "2026-07-25T07:41:41Z"), wantErr: mqtt.ErrBadTime},
		{file: "statestream-gas-state.txt", spec: mqtt.Spec{Format: mqtt.FormatStatestream},
			want: 4711.042},
		{file: "statestream-light-on.txt", spec: mqtt.Spec{Format: mqtt.FormatStatestream},
			wantErr: mqtt.ErrNotNumber},
		{file: "statestream-unavailable.txt", spec: mqtt.Spec{Format: mqtt.FormatStatestream},
			wantErr: mqtt.ErrUnavailable},
		// A JSON producer configured as a plain number is a config mistake
		// that must show up as a reason, not as a crash or a zero.
		{file: "wmbusmeters-iperl.json", spec: mqtt.Spec{Format: mqtt.FormatNumber},
			wantErr: mqtt.ErrNotNumber},
		{file: "shelly-gen1-emeter-total.txt", spec: mqtt.Spec{Format: mqtt.FormatJSON, Field: "total"},
			wantErr: mqtt.ErrInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+string(tt.spec.Format)+"/"+tt.spec.Field, func(t *testing.T) {
			d, err := mqtt.NewDecoder(tt.spec)
			if err != nil {
				t.Fatalf("NewDecoder(%+v): %v", tt.spec, err)
			}
			received := tt.received
			if received.IsZero() {
				received = arrival
			}
			got, v, err := d.Decode(mustReadSample(t, tt.file), received)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decode() error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode() error = %v", err)
			}
			wantTime := tt.wantTime
			if wantTime.IsZero() {
				wantTime = received
			}
			if !closeTo(v, tt.want) || !got.Equal(wantTime) {
				t.Errorf("Decode() = %s, %v, want %s, %v", got.Format(time.RFC3339Nano), v, wantTime.Format(time.RFC3339Nano), tt.want)
			}
		})
	}
}

func TestDecodeEdgeCases(t *testing.T) {
	berlin := mustLocation(t, "Europe/Berlin")
	arrival := mustTime(t, "2025-01-10T12:00:00Z")
	number := mqtt.Spec{Format: mqtt.FormatNumber}
	jsonAt := func(timeField string) mqtt.Spec {
		return mqtt.Spec{Format: mqtt.FormatJSON, Field: "v", TimeField: timeField, Location: berlin}
	}
	tests := []struct {
		name     string
		spec     mqtt.Spec
		payload  string
		want     float64
		wantTime time.Time // zero: arrival
		wantErr  error
	}{
		{"number whitespace", number, " \t42.5\r\n", 42.5, time.Time{}, nil},
		{"number exponent", number, "1.5e3", 1500, time.Time{}, nil},
		{"number negative", number, "-3", -3, time.Time{}, nil},
		{"number with unit", number, "123.4 kWh", 0, time.Time{}, mqtt.ErrNotNumber},
		{"number decimal comma", number, "12,5", 0, time.Time{}, mqtt.ErrNotNumber},
		{"number NaN", number, "NaN", 0, time.Time{}, mqtt.ErrNotNumber},
		{"number Inf", number, "+Inf", 0, time.Time{}, mqtt.ErrNotNumber},
		{"number hex float", number, "0x1p4", 0, time.Time{}, mqtt.ErrNotNumber},
		{"number overflow", number, "1e400", 0, time.Time{}, mqtt.ErrNotNumber},
		{"number quoted", number, `"12.5"`, 0, time.Time{}, mqtt.ErrNotNumber},
		{"number empty", number, "", 0, time.Time{}, mqtt.ErrEmptyPayload},
		{"number blank", number, "  \n", 0, time.Time{}, mqtt.ErrEmptyPayload},
		{"number scaled to overflow", mqtt.Spec{Format: mqtt.FormatNumber, Scale: 1e300}, "1e300", 0, time.Time{}, mqtt.ErrNotNumber},
		{"statestream unknown", mqtt.Spec{Format: mqtt.FormatStatestream}, "unknown", 0, time.Time{}, mqtt.ErrUnavailable},
		{"statestream Unavailable", mqtt.Spec{Format: mqtt.FormatStatestream}, " Unavailable\n", 0, time.Time{}, mqtt.ErrUnavailable},
		{"json not json", jsonAt(""), "{", 0, time.Time{}, mqtt.ErrInvalidJSON},
		{"json array", jsonAt(""), "[1,2]", 0, time.Time{}, mqtt.ErrInvalidJSON},
		{"json null", jsonAt(""), "null", 0, time.Time{}, mqtt.ErrInvalidJSON},
		{"json two objects", jsonAt(""), `{"v":1} {"v":2}`, 0, time.Time{}, mqtt.ErrInvalidJSON},
		{"json empty", jsonAt(""), "", 0, time.Time{}, mqtt.ErrEmptyPayload},
		{"json value null", jsonAt(""), `{"v":null}`, 0, time.Time{}, mqtt.ErrNoField},
		{"json value bool", jsonAt(""), `{"v":true}`, 0, time.Time{}, mqtt.ErrNotNumber},
		{"json value object", jsonAt(""), `{"v":{}}`, 0, time.Time{}, mqtt.ErrNotNumber},
		{"json value string", jsonAt(""), `{"v":" 7.25 "}`, 7.25, time.Time{}, nil},
		{"json value empty string", jsonAt(""), `{"v":""}`, 0, time.Time{}, mqtt.ErrNotNumber},
		{"json long counter keeps digits", jsonAt(""), `{"v":123456789.123}`, 123456789.123, time.Time{}, nil},
		{"json array index", mqtt.Spec{Format: mqtt.FormatJSON, Field: "a.1.b"}, `{"a":[{"b":1},{"b":2}]}`, 2, time.Time{}, nil},
		{"json array index out of range", mqtt.Spec{Format: mqtt.FormatJSON, Field: "a.2.b"}, `{"a":[{"b":1},{"b":2}]}`, 0, time.Time{}, mqtt.ErrNoField},
		{"json path through number", mqtt.Spec{Format: mqtt.FormatJSON, Field: "a.b"}, `{"a":1}`, 0, time.Time{}, mqtt.ErrNoField},
		{"time RFC3339 Z", jsonAt("t"), `{"v":1,"t":"2025-01-10T08:00:00Z"}`, 1, mustTime(t, "2025-01-10T08:00:00Z"), nil},
		{"time fraction and colon offset", jsonAt("t"), `{"v":1,"t":"2017-10-01T23:20:30.920969+00:00"}`, 1, mustTime(t, "2017-10-01T23:20:30.920969Z"), nil},
		{"time strftime offset", jsonAt("t"), `{"v":1,"t":"2025-01-10T10:30:00+0100"}`, 1, mustTime(t, "2025-01-10T09:30:00Z"), nil},
		{"time hour offset", jsonAt("t"), `{"v":1,"t":"2025-01-10T10:30:00+01"}`, 1, mustTime(t, "2025-01-10T09:30:00Z"), nil},
		{"time without offset is local", jsonAt("t"), `{"v":1,"t":"2025-01-10T10:30:00"}`, 1, mustTime(t, "2025-01-10T09:30:00Z"), nil},
		{"time with space", jsonAt("t"), `{"v":1,"t":"2025-01-10 10:30:00"}`, 1, mustTime(t, "2025-01-10T09:30:00Z"), nil},
		{"time epoch seconds", jsonAt("t"), `{"v":1,"t":1736496000}`, 1, mustTime(t, "2025-01-10T08:00:00Z"), nil},
		{"time epoch milliseconds", jsonAt("t"), `{"v":1,"t":1736496000500}`, 1, mustTime(t, "2025-01-10T08:00:00.5Z"), nil},
		{"time epoch as string", jsonAt("t"), `{"v":1,"t":"1736496000"}`, 1, mustTime(t, "2025-01-10T08:00:00Z"), nil},
		{"time garbage", jsonAt("t"), `{"v":1,"t":"yesterday"}`, 0, time.Time{}, mqtt.ErrBadTime},
		{"time bool", jsonAt("t"), `{"v":1,"t":false}`, 0, time.Time{}, mqtt.ErrBadTime},
		{"time 1970", jsonAt("t"), `{"v":1,"t":"1970-01-01T00:00:05+0000"}`, 0, time.Time{}, mqtt.ErrBadTime},
		{"time far future", jsonAt("t"), `{"v":1,"t":"2025-01-12T12:00:00Z"}`, 0, time.Time{}, mqtt.ErrBadTime},
		{"time epoch far future", jsonAt("t"), `{"v":1,"t":99999999999999999}`, 0, time.Time{}, mqtt.ErrBadTime},
		{"configured time field missing", jsonAt("t"), `{"v":1}`, 0, time.Time{}, mqtt.ErrNoField},
		{"default time field missing", mqtt.Spec{Format: mqtt.FormatWMBusMeters, Field: "v"}, `{"v":1}`, 1, time.Time{}, nil},
		{"aiontheedge error not string", mqtt.Spec{Format: mqtt.FormatAIOnTheEdge}, `{"value":"1","error":1}`, 0, time.Time{}, mqtt.ErrDeviceError},
		{"aiontheedge no error mixed case", mqtt.Spec{Format: mqtt.FormatAIOnTheEdge, TimeField: mqtt.NoTime}, `{"value":"1.5","error":"No Error"}`, 1.5, time.Time{}, nil},
		{"aiontheedge rate too high", mqtt.Spec{Format: mqtt.FormatAIOnTheEdge}, `{"value":"","error":"Rate too high - Read: 700.1 - Raw: 00700.1 - Pre: 679.2"}`, 0, time.Time{}, mqtt.ErrDeviceError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := mqtt.NewDecoder(tt.spec)
			if err != nil {
				t.Fatalf("NewDecoder(%+v): %v", tt.spec, err)
			}
			got, v, err := d.Decode([]byte(tt.payload), arrival)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decode(%q) error = %v, want %v", tt.payload, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q) error = %v", tt.payload, err)
			}
			wantTime := tt.wantTime
			if wantTime.IsZero() {
				wantTime = arrival
			}
			if !closeTo(v, tt.want) || !got.Equal(wantTime) {
				t.Errorf("Decode(%q) = %s, %v, want %s, %v", tt.payload, got.Format(time.RFC3339Nano), v, wantTime.Format(time.RFC3339Nano), tt.want)
			}
		})
	}
}

func TestNewDecoderRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		spec mqtt.Spec
		want string // part of the message that names the problem
	}{
		{mqtt.Spec{}, "format missing"},
		{mqtt.Spec{Format: "csv"}, `format "csv"`},
		{mqtt.Spec{Format: mqtt.FormatNumber, Field: "v"}, "has no fields"},
		{mqtt.Spec{Format: mqtt.FormatStatestream, TimeField: "t"}, "has no fields"},
		{mqtt.Spec{Format: mqtt.FormatJSON}, `field ""`},
		{mqtt.Spec{Format: mqtt.FormatWMBusMeters}, `field ""`},
		{mqtt.Spec{Format: mqtt.FormatTasmota}, `field ""`},
		{mqtt.Spec{Format: mqtt.FormatJSON, Field: "a..b"}, `field "a..b"`},
		{mqtt.Spec{Format: mqtt.FormatJSON, Field: "v", TimeField: "t."}, `time field "t."`},
		{mqtt.Spec{Format: mqtt.FormatNumber, Scale: -1}, "scale -1"},
		{mqtt.Spec{Format: mqtt.FormatNumber, Scale: math.Inf(1)}, "scale +Inf"},
	}
	for _, tt := range tests {
		_, err := mqtt.NewDecoder(tt.spec)
		if !errors.Is(err, mqtt.ErrInvalidOption) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewDecoder(%+v) error = %v, want ErrInvalidOption mentioning %q", tt.spec, err, tt.want)
		}
	}
}

// rejections are the errors a decoder may return; anything else would mean
// a rejected payload without a classified reason.
var rejections = []error{
	mqtt.ErrEmptyPayload, mqtt.ErrNotNumber, mqtt.ErrUnavailable, mqtt.ErrInvalidJSON,
	mqtt.ErrNoField, mqtt.ErrBadTime, mqtt.ErrDeviceError,
}

// FuzzDecode runs every format's decoder over arbitrary payloads: none may
// panic, an accepted payload gives a finite value and a credible time, and a
// rejected one has a classified, non-empty reason.
func FuzzDecode(f *testing.F) {
	entries, err := os.ReadDir(samples)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "README.md" {
			f.Add(mustReadSample(f, e.Name()))
		}
	}
	for _, s := range []string{"", " ", "1", "-0", "1e308", "{}", `{"value":"1","error":"no error"}`, `{"Time":"2022-07-07T13:01:11","SML":{"Total_in":"x"}}`, `{"v":[1,{"x":null}]}`, "\xff\xfe", `{"t":"2025-01-10 10:30:00.123456789+0100","v":1}`} {
		f.Add([]byte(s))
	}
	decoders := map[mqtt.Format]*mqtt.Decoder{}
	for _, s := range []mqtt.Spec{
		{Format: mqtt.FormatNumber},
		{Format: mqtt.FormatStatestream},
		{Format: mqtt.FormatJSON, Field: "v", TimeField: "t"},
		{Format: mqtt.FormatWMBusMeters, Field: "total_m3"},
		{Format: mqtt.FormatAIOnTheEdge},
		{Format: mqtt.FormatTasmota, Field: "SML.Total_in", Location: mustLocation(f, "Europe/Berlin")},
	} {
		d, err := mqtt.NewDecoder(s)
		if err != nil {
			f.Fatal(err)
		}
		decoders[s.Format] = d
	}
	arrival := mustTime(f, "2026-01-01T00:00:00Z")
	f.Fuzz(func(t *testing.T, payload []byte) {
		for format, d := range decoders {
			got, v, err := d.Decode(payload, arrival)
			if err != nil {
				if err.Error() == "" || !isRejection(err) {
					t.Errorf("%s: Decode(%q) error %q is not a classified rejection", format, payload, err)
				}
				continue
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%s: Decode(%q) value = %v", format, payload, v)
			}
			if got.Year() < 2000 || got.After(arrival.Add(24*time.Hour)) {
				t.Errorf("%s: Decode(%q) time = %v", format, payload, got)
			}
		}
	})
}

func isRejection(err error) bool {
	for _, r := range rejections {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}
