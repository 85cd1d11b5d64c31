package processing_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/meteragent/meteragent/processing"
)

// daily returns readings at consecutive UTC midnights from 2024-01-01.
func daily(values ...float64) []processing.Reading {
	rs := make([]processing.Reading, len(values))
	for i, v := range values {
		rs[i] = processing.Reading{Time: day(time.UTC, 2024, 1, 1+i), Value: v}
	}
	return rs
}

// TestDecreasingRegisters checks that drops are never silently lost (spec
// §2.9, W-7): typos are ignored, rollovers unwrapped and resets bridged, each
// reported.
func TestDecreasingRegisters(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		rs       []processing.Reading
		size     float64
		want     []float64 // registers at the midnights
		kinds    []processing.EventKind
		contains string // in the first event's message
	}{
		{
			name: "typo high", rs: daily(100, 110, 999, 130, 140),
			want: []float64{100, 110, 120, 130, 140}, kinds: []processing.EventKind{processing.EventTypo}, contains: "999",
		},
		{
			name: "typo low", rs: daily(100, 110, 50, 130, 140),
			want: []float64{100, 110, 120, 130, 140}, kinds: []processing.EventKind{processing.EventTypo}, contains: "50",
		},
		{
			name: "rollover", rs: daily(980, 990, 5, 15), size: 1000,
			want: []float64{980, 990, 1005, 1015}, kinds: []processing.EventKind{processing.EventRollover}, contains: "wrapped at 1000",
		},
		{
			// Unwrapped, 800 would mean 810 used in a day where 10 is usual:
			// more than half the register, so it is a reset, not a rollover.
			name: "implausible rollover", rs: daily(980, 990, 800, 810), size: 1000,
			want: []float64{980, 990, 1000, 1010}, kinds: []processing.EventKind{processing.EventReset},
		},
		{
			// CC-3: the old pipeline clipped the drop to 0 and lost a day's
			// use; here the day gets the neighbours' 2.5.
			name: "reset CC-3", rs: daily(100, 102.5, 10, 12.5),
			want: []float64{100, 102.5, 105, 107.5}, kinds: []processing.EventKind{processing.EventReset}, contains: "dropped from 102.5 to 10",
		},
		{
			// 10/day before, 20/day after: the two-day reset interval gets
			// their mean, 15/day, so 1010 + 30 = 1040 on the 4th.
			name: "reset uses both sides",
			rs: []processing.Reading{
				{Time: day(time.UTC, 2024, 1, 1), Value: 1000}, {Time: day(time.UTC, 2024, 1, 2), Value: 1010},
				{Time: day(time.UTC, 2024, 1, 4), Value: 5}, {Time: day(time.UTC, 2024, 1, 5), Value: 25},
			},
			want: []float64{1000, 1010, 1025, 1040, 1060}, kinds: []processing.EventKind{processing.EventReset},
		},
		{
			name: "reset at the last reading", rs: daily(100, 110, 120, 5),
			want: []float64{100, 110, 120, 130}, kinds: []processing.EventKind{processing.EventReset},
		},
		{
			name: "reset at the first reading", rs: daily(900, 100, 110, 120),
			want: []float64{900, 910, 920, 930}, kinds: []processing.EventKind{processing.EventReset},
		},
		{
			// After the reset 5, 15, 35 is 10/day once the typo 900 is gone.
			name: "reset then typo", rs: daily(100, 110, 120, 5, 15, 900, 35),
			want:  []float64{100, 110, 120, 130, 140, 150, 160},
			kinds: []processing.EventKind{processing.EventReset, processing.EventTypo},
		},
		{
			// 9999.5 and 10001 stay below 10010 for two days, by less than
			// 1 %: a misreading, not a reset. Bridging it as a reset would
			// add the dip and an estimate on top; ignored, the use from
			// 10010 to 10030 is spread over the three days.
			// (Below 10000 too, or the typo rule would take 10010 for the
			// odd one out.)
			name: "small dip is noise", rs: daily(10000, 10010, 9999.5, 10001, 10030),
			want: []float64{10000, 10010, 10010 + 20.0/3, 10010 + 40.0/3, 10030}, kinds: []processing.EventKind{processing.EventTypo}, contains: "meter noise",
		},
		{
			// A drop of more than 1 % of the register is a reset even when
			// the register stays high.
			name: "large dip is a reset", rs: daily(1000, 1010, 980, 990),
			want: []float64{1000, 1010, 1020, 1030}, kinds: []processing.EventKind{processing.EventReset},
		},
		{
			name: "not a number", rs: daily(100, nan, 120),
			want: []float64{100, 110, 120}, kinds: []processing.EventKind{processing.EventTypo}, contains: "not a number",
		},
		{
			name: "conflicting duplicates",
			rs:   append(daily(100, 110, 120), processing.Reading{Time: day(time.UTC, 2024, 1, 2), Value: 109.5}),
			want: []float64{100, 110, 120}, kinds: []processing.EventKind{processing.EventTypo}, contains: "kept the highest",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := build(t, tc.rs, processing.DailyOptions{Location: time.UTC, RegisterSize: tc.size})
			if len(s.Days) != len(tc.want) {
				t.Fatalf("%d rows, want %d", len(s.Days), len(tc.want))
			}
			for k, d := range s.Days {
				if !near(d.Reading, tc.want[k], 1e-12) {
					t.Errorf("%s: %v, want %v", d.Date, d.Reading, tc.want[k])
				}
			}
			checkInvariants(t, nil, s, time.UTC, false)
			if len(s.Events) != len(tc.kinds) {
				t.Fatalf("events %v, want kinds %v", s.Events, tc.kinds)
			}
			for i, e := range s.Events {
				if e.Kind != tc.kinds[i] || e.Time.IsZero() || e.Message == "" {
					t.Errorf("event %d: %+v, want kind %v with time and message", i, e, tc.kinds[i])
				}
			}
			if tc.contains != "" && !strings.Contains(s.Events[0].Message, tc.contains) {
				t.Errorf("message %q lacks %q", s.Events[0].Message, tc.contains)
			}
		})
	}
}

// TestResetDense bridges a reset in hourly data of exactly one unit per hour:
// the neighbouring rate is one per hour, so no day loses or gains anything.
func TestResetDense(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var rs []processing.Reading
	for h := range 10 * 24 {
		v := float64(h)
		if h >= 100 {
			v = float64(h - 100) // the new register starts at 0 at hour 100
		}
		rs = append(rs, processing.Reading{Time: start.Add(time.Duration(h) * time.Hour), Value: v})
	}
	s := build(t, rs, processing.DailyOptions{Location: loc})
	if len(s.Events) != 1 || s.Events[0].Kind != processing.EventReset || !s.Events[0].Time.Equal(rs[100].Time) {
		t.Fatalf("events %v, want one reset at %v", s.Events, rs[100].Time)
	}
	for _, d := range s.Days[:len(s.Days)-1] {
		if !near(d.Consumption, 24, 1e-12) {
			t.Errorf("%s: %v, want 24", d.Date, d.Consumption)
		}
	}
}

// TestJitterDense feeds hourly readings of one unit an hour in which the
// reader now and then reports, for three hours, a value a little below the
// last two good ones (a misread last digit). Such dips are noise, not
// resets: no use may be added or lost, so the days between two midnight
// readings add up to exactly their difference, and no reset is reported.
func TestJitterDense(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var rs []processing.Reading
	for h := range 20 * 24 {
		v := 5000 + float64(h)
		if k := h % 37; k >= 5 && k <= 7 {
			v = 5000 + float64(h-k+3) - 0.4 // below the readings of hours …+3 and …+4
		}
		rs = append(rs, processing.Reading{Time: start.Add(time.Duration(h) * time.Hour), Value: v})
	}
	s := build(t, rs, processing.DailyOptions{Location: time.UTC})
	noise := 0
	for _, e := range s.Events {
		if e.Kind == processing.EventReset {
			t.Fatalf("jitter bridged as a reset: %v", e)
		}
		if strings.Contains(e.Message, "meter noise") {
			noise++
		}
	}
	if noise == 0 {
		t.Fatalf("the ignored readings were not reported: %v", s.Events)
	}
	// Midnights whose hour is not a jitter hour are reproduced exactly, and
	// the use in between adds up to the true hours.
	sum := 0.0
	for _, d := range s.Days[:len(s.Days)-1] {
		sum += d.Consumption
	}
	last := s.Days[len(s.Days)-1]
	if !near(last.Reading-s.Days[0].Reading, sum, 1e-9) || !near(sum, float64(19*24), 1e-9) {
		t.Errorf("use over 19 days = %v (registers %v → %v), want %v", sum, s.Days[0].Reading, last.Reading, 19*24)
	}
}

// TestEventsOrdered checks that events come in time order whatever found them.
func TestEventsOrdered(t *testing.T) {
	rs := daily(100, 110, 999, 130, 5, 15, 25)
	s := build(t, rs, processing.DailyOptions{Location: time.UTC, From: day(time.UTC, 2023, 12, 1), To: day(time.UTC, 2024, 3, 1), MaxExtrapolationDays: 3})
	if len(s.Events) != 4 {
		t.Fatalf("events %v, want cut, typo, reset, cut", s.Events)
	}
	want := []processing.EventKind{processing.EventExtrapolationCut, processing.EventTypo, processing.EventReset, processing.EventExtrapolationCut}
	for i, e := range s.Events {
		if e.Kind != want[i] {
			t.Errorf("event %d: %v, want %v", i, e.Kind, want[i])
		}
		if i > 0 && e.Time.Before(s.Events[i-1].Time) {
			t.Errorf("event %d at %v before event %d at %v", i, e.Time, i-1, s.Events[i-1].Time)
		}
	}
}
