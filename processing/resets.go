package processing

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// resetRateWindow is how far on each side of a reset the neighbouring use is
// averaged to estimate the use the reset interval hides. A week smooths out
// day/night and weekday swings of dense meters; sparse meters always get at
// least their one neighbouring interval on each side, however long it is.
const resetRateWindow = 7 * 24 * time.Hour

// cleanReadings turns raw readings (any order) into what interpolation needs:
// finite values at strictly increasing times, never decreasing. The old
// pipeline interpolated straight through a drop and clipped the negative days
// to 0, losing the use (spec §2.9, W-7). Here every change is reported as an
// Event, in this order:
//
//  1. non-finite values are ignored;
//  2. readings at the same instant collapse into one; if their values differ
//     the highest is kept, since a register only grows and the lower one is a
//     stale or truncated copy;
//  3. typos: a reading off in both directions (its neighbours are in order but
//     it lies above the next or below the previous one) is ignored;
//  4. rollovers: a drop that RegisterSize explains as a plausible use
//     (0 ≤ next + size − prev < size/2) is unwrapped by adding the size to
//     every later reading;
//  5. resets and replacements: any other drop. Later readings are offset so
//     the register continues from the reading before the drop plus an
//     estimate of the use in between: the reset interval's length times the
//     mean daily rate of up to resetRateWindow of readings on each side (one
//     interval at least). The mean of both sides, because either alone may be
//     missing or atypical; it is never negative.
//
// Readings that survive keep their time; values after a rollover or reset are
// the continued register, not the dial's.
//
// Readings that need none of this (the usual case) are returned as they
// are, sharing the input's array, which must then not be modified.
func cleanReadings(readings []Reading, registerSize float64, loc *time.Location) ([]Reading, []Event) {
	if alreadyClean(readings) {
		return readings, nil
	}
	var events []Event
	rs := make([]Reading, 0, len(readings))
	for _, r := range readings {
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			events = append(events, Event{Time: r.Time, Kind: EventTypo,
				Message: fmt.Sprintf("reading at %s is %v, not a number; ignored", fmtTime(r.Time, loc), r.Value)})
			continue
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b Reading) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})

	rs, events = collapseSameInstant(rs, events, loc)
	rs, events = dropTypos(rs, events, loc)
	rs, events = dropDips(rs, events, loc)
	return continueRegister(rs, registerSize, events, loc)
}

// alreadyClean reports whether cleanReadings would return readings
// unchanged and without events: finite values at strictly increasing times
// that never decrease. A later reading of −0 is not: continuing the
// register would turn it into +0.
func alreadyClean(rs []Reading) bool {
	for i, r := range rs {
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			return false
		}
		if i > 0 && (!r.Time.After(rs[i-1].Time) || r.Value < rs[i-1].Value || (r.Value == 0 && math.Signbit(r.Value))) {
			return false
		}
	}
	return true
}

// dipShare is the largest drop, as a share of the register, that is taken
// for reading noise rather than a reset: camera readers and radio meters
// report a slightly lower value now and then (a misread last digit, a stale
// telegram). A reset, a replacement or a rollover falls to near 0.
const dipShare = 0.01

// dropDips ignores readings that lie below the highest reading so far by at
// most dipShare of it, until the register passes that reading again. Bridging
// such a dip as a reset would add the dip and an estimated use on top; ignoring
// it spreads the use over the interval to the next higher reading and keeps
// every total exact. One Event reports each run of ignored readings.
func dropDips(rs []Reading, events []Event, loc *time.Location) ([]Reading, []Event) {
	if len(rs) < 2 {
		return rs, events
	}
	out := rs[:1]
	top := rs[0]
	var runStart Reading
	runLen, deepest := 0, 0.0
	flush := func() {
		if runLen == 0 {
			return
		}
		events = append(events, Event{Time: runStart.Time, Kind: EventTypo,
			Message: fmt.Sprintf("%d reading(s) from %s up to %s below the reading %s of %s; ignored as meter noise",
				runLen, fmtTime(runStart.Time, loc), fmtNum(deepest), fmtNum(top.Value), fmtTime(top.Time, loc))})
		runLen, deepest = 0, 0
	}
	for _, r := range rs[1:] {
		if dip := top.Value - r.Value; dip > 0 && dip <= dipShare*math.Abs(top.Value) {
			if runLen == 0 {
				runStart = r
			}
			runLen++
			deepest = max(deepest, dip)
			continue
		}
		flush()
		out = append(out, r)
		// r is a new high, or a larger drop that continueRegister bridges
		// as a reset; either way later dips are measured from it.
		top = r
	}
	flush()
	return out, events
}

// collapseSameInstant keeps the highest value of every group of readings at
// one instant (the last, as rs is sorted by time, then value).
func collapseSameInstant(rs []Reading, events []Event, loc *time.Location) ([]Reading, []Event) {
	out := rs[:0]
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && rs[j].Time.Equal(rs[i].Time) {
			j++
		}
		keep := rs[j-1]
		if rs[i].Value != keep.Value {
			events = append(events, Event{Time: keep.Time, Kind: EventTypo,
				Message: fmt.Sprintf("%d readings at %s disagree (%s to %s); kept the highest",
					j-i, fmtTime(keep.Time, loc), fmtNum(rs[i].Value), fmtNum(keep.Value))})
		}
		out = append(out, keep)
		i = j
	}
	return out, events
}

// dropTypos ignores every reading that lies outside the range of its kept
// predecessor and its successor while those two are in order. The first and
// the last reading have only one neighbour, so a drop there cannot be told
// from a reset and is left to continueRegister.
func dropTypos(rs []Reading, events []Event, loc *time.Location) ([]Reading, []Event) {
	if len(rs) < 3 {
		return rs, events
	}
	// In place: out never grows past the reading being looked at.
	out := rs[:1]
	for i := 1; i < len(rs)-1; i++ {
		prev, cur, next := out[len(out)-1].Value, rs[i].Value, rs[i+1].Value
		if isTypo(prev, cur, next) {
			events = append(events, Event{Time: rs[i].Time, Kind: EventTypo,
				Message: fmt.Sprintf("reading %s at %s does not fit between %s and %s; ignored as a typo",
					fmtNum(cur), fmtTime(rs[i].Time, loc), fmtNum(prev), fmtNum(next))})
			continue
		}
		out = append(out, rs[i])
	}
	out = append(out, rs[len(rs)-1])
	return out, events
}

// isTypo reports whether a reading cur between prev and next is off in both
// directions: prev and next are in order, cur does not fit between them.
func isTypo(prev, cur, next float64) bool {
	return prev <= next && (cur > next || cur < prev)
}

// continueRegister unwraps rollovers and bridges resets (see cleanReadings).
// rs is strictly increasing in time.
func continueRegister(rs []Reading, registerSize float64, events []Event, loc *time.Location) ([]Reading, []Event) {
	if len(rs) == 0 {
		return rs, events
	}
	// In place: rs[:i] holds the continued register, rs[i:] is still raw.
	out := rs[:1]
	offset := 0.0
	prev := rs[0] // raw
	for i := 1; i < len(rs); i++ {
		cur := rs[i]
		if cur.Value < prev.Value {
			between := fmt.Sprintf("between %s and %s", fmtTime(prev.Time, loc), fmtTime(cur.Time, loc))
			if wrapped := cur.Value + registerSize - prev.Value; registerSize > 0 && wrapped >= 0 && wrapped < registerSize/2 {
				offset += registerSize
				events = append(events, Event{Time: cur.Time, Kind: EventRollover,
					Message: fmt.Sprintf("register wrapped at %s %s (%s → %s); later readings raised by %s",
						fmtNum(registerSize), between, fmtNum(prev.Value), fmtNum(cur.Value), fmtNum(registerSize))})
			} else {
				use := resetUse(out, rs, i)
				continued := out[len(out)-1].Value + use
				offset = continued - cur.Value
				events = append(events, Event{Time: cur.Time, Kind: EventReset,
					Message: fmt.Sprintf("register dropped from %s to %s %s (reset or replacement); estimated use in between %s from the neighbouring rates, later readings continue from %s",
						fmtNum(prev.Value), fmtNum(cur.Value), between, fmtNum(use), fmtNum(continued))})
			}
		}
		v := cur.Value + offset
		if last := out[len(out)-1].Value; v < last {
			// Rounding in the offset must not undo monotonicity.
			v = last
		}
		out = append(out, Reading{Time: cur.Time, Value: v})
		prev = cur
	}
	return out, events
}

// resetUse estimates the use between out's last reading (continued register)
// and rs[i] (the first reading after a drop); rs[i:] is raw.
func resetUse(out, rs []Reading, i int) float64 {
	var rates []float64

	// Before: the continued register, back up to resetRateWindow.
	last := len(out) - 1
	if last >= 1 {
		from := out[last].Time.Add(-resetRateWindow)
		j := sort.Search(len(out), func(k int) bool { return !out[k].Time.Before(from) })
		j = min(j, last-1)
		if d := toDays(out[last].Time.Sub(out[j].Time)); d > 0 {
			rates = append(rates, (out[last].Value-out[j].Value)/d)
		}
	}

	// After: the new register's raw readings, up to the next drop or the
	// window's end. Stopping at the next drop keeps all these scans O(n).
	k := i
	for k+1 < len(rs) && rs[k+1].Value >= rs[k].Value &&
		(k == i || rs[k+1].Time.Sub(rs[i].Time) <= resetRateWindow) {
		k++
	}
	if d := toDays(rs[k].Time.Sub(rs[i].Time)); k > i && d > 0 {
		rates = append(rates, (rs[k].Value-rs[i].Value)/d)
	}

	if len(rates) == 0 {
		return 0
	}
	var sum float64
	for _, r := range rates {
		sum += max(r, 0)
	}
	use := sum / float64(len(rates)) * toDays(rs[i].Time.Sub(out[last].Time))
	if !(use > 0) || math.IsInf(use, 0) {
		return 0
	}
	return use
}

func toDays(d time.Duration) float64 { return d.Hours() / 24 }
