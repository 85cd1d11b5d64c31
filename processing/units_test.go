package processing_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/meteragent/meteragent/processing"
)

func TestParseUnit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want processing.Unit
	}{
		{"Wh", processing.Wh}, {"wh", processing.Wh}, {"kWh", processing.KWh}, {"KWH", processing.KWh},
		{" kwh ", processing.KWh}, {"MWh", processing.MWh}, {"mwh", processing.MWh},
		{"m³", processing.M3}, {"m3", processing.M3}, {"M3", processing.M3},
		{"L", processing.L}, {"l", processing.L},
	} {
		got, err := processing.ParseUnit(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseUnit(%q) = %q, %v, want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "kW", "cbm", "gal", "k Wh"} {
		_, err := processing.ParseUnit(in)
		if !errors.Is(err, processing.ErrUnknownUnit) || !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseUnit(%q) err = %v, want ErrUnknownUnit quoting the input", in, err)
		}
	}
}

func TestFactor(t *testing.T) {
	const g = 11.504 * 0.8885 // spec §3: energy_content × z_factor
	for _, c := range []struct {
		from, to processing.Unit
		gas      float64
		want     float64
	}{
		{processing.KWh, processing.KWh, 0, 1},
		{processing.Wh, processing.KWh, 0, 1e-3},
		{processing.KWh, processing.Wh, 0, 1e3},
		{processing.MWh, processing.KWh, 0, 1e3},
		{processing.Wh, processing.MWh, 0, 1e-6},
		{processing.L, processing.M3, 0, 1e-3},
		{processing.M3, processing.L, 0, 1e3},
		{processing.M3, processing.KWh, 0, 10.221304}, // default gas factor
		{processing.KWh, processing.M3, 0, 1 / 10.221304},
		{processing.M3, processing.KWh, 10, 10},
		{processing.M3, processing.MWh, g, g / 1000},
		{processing.L, processing.KWh, g, g / 1000},
		{processing.Wh, processing.L, 10, 0.1}, // 1 Wh = 0.001 kWh = 0.0001 m³ = 0.1 L
	} {
		got, err := processing.Factor(c.from, c.to, c.gas)
		if err != nil || math.Abs(got-c.want) > 1e-12*c.want {
			t.Errorf("Factor(%s, %s, %v) = %v, %v, want %v", c.from, c.to, c.gas, got, err, c.want)
		}
	}
	for _, c := range []struct {
		from, to processing.Unit
		gas      float64
	}{
		{"kW", processing.KWh, 0},
		{processing.KWh, "", 0},
		{"kwh", processing.KWh, 0}, // not parsed: never passed through
		{processing.M3, processing.KWh, -1},
		{processing.KWh, processing.M3, math.NaN()},
		{processing.M3, processing.KWh, math.Inf(1)},
	} {
		if _, err := processing.Factor(c.from, c.to, c.gas); !errors.Is(err, processing.ErrUnsupportedConversion) {
			t.Errorf("Factor(%q, %q, %v) err = %v, want ErrUnsupportedConversion", c.from, c.to, c.gas, err)
		}
	}
}

func FuzzParseUnit(f *testing.F) {
	for _, s := range []string{"kWh", "m³", "m3", "L", "", "\xff", "MWH "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := processing.ParseUnit(s)
		if err != nil {
			return
		}
		// Every accepted unit converts to itself and round-trips.
		if f, err := processing.Factor(u, u, 0); err != nil || f != 1 {
			t.Errorf("Factor(%q, %q) = %v, %v", u, u, f, err)
		}
		if again, err := processing.ParseUnit(string(u)); err != nil || again != u {
			t.Errorf("ParseUnit(%q) = %q, %v, want itself", u, again, err)
		}
	})
}
