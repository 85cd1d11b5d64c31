package processing

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInvalidPattern is returned by NewPattern and BuildDaily for a seasonal
// pattern with a negative or non-finite share, or with no positive share.
//
// It lives here rather than in errors.go only because errors.go has another
// owner; it may move there unchanged.
var ErrInvalidPattern = errors.New("invalid seasonal pattern")

// NewPattern validates twelve monthly shares (January first, in any scale,
// typically percent) and normalises them to sum to 1.
func NewPattern(shares [12]float64) (Pattern, error) {
	p := Pattern(shares)
	sum, err := p.sum()
	if err != nil {
		return Pattern{}, err
	}
	for i := range p {
		p[i] /= sum
	}
	return p, nil
}

// sum checks the shares and returns their total.
func (p *Pattern) sum() (float64, error) {
	var sum float64
	for i, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, fmt.Errorf("%s share %v: %w", time.Month(i+1), v, ErrInvalidPattern)
		}
		sum += v
	}
	if sum <= 0 || math.IsInf(sum, 0) {
		return 0, fmt.Errorf("shares sum to %v: %w", sum, ErrInvalidPattern)
	}
	return sum, nil
}

// Intensity turns the pattern into a per-day intensity for
// DailyOptions.Intensity: every day of a month gets an equal part of the
// month's share, so a month's use is its share whatever its length (spec §2.6
// [FIX]), and the days of a year average 1. Shares need not be normalised. An
// invalid pattern (see NewPattern) yields 1 for every day.
//
// Years are never pooled: a day's weight depends only on its own month and
// year, so a span that covers two Januaries weighs each of them fully.
func (p Pattern) Intensity() func(day time.Time) float64 {
	sum, err := p.sum()
	if err != nil {
		return func(time.Time) float64 { return 1 }
	}
	return func(day time.Time) float64 {
		y, m, _ := day.Date()
		return p[m-1] / sum * float64(daysInYear(y)) / float64(daysInMonth(y, m))
	}
}

// ProductIntensity multiplies intensity profiles (for example a seasonal, a
// weekday and a temperature profile) into one. Nil profiles are skipped; with
// none left the result is nil, which BuildDaily reads as time-linear.
func ProductIntensity(profiles ...func(day time.Time) float64) func(day time.Time) float64 {
	var fs []func(time.Time) float64
	for _, f := range profiles {
		if f != nil {
			fs = append(fs, f)
		}
	}
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return func(day time.Time) float64 {
		v := 1.0
		for _, f := range fs {
			v *= sanitizeIntensity(f(day))
		}
		return v
	}
}

func daysInMonth(y int, m time.Month) int {
	switch m {
	case time.February:
		return 28 + leap(y)
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func daysInYear(y int) int { return 365 + leap(y) }

func leap(y int) int {
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 1
	}
	return 0
}
