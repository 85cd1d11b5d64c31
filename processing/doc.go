// Package processing is meteragent's pure domain core: it turns sparse or dense
// cumulative meter readings into daily and monthly series, composes master
// meters across replacements, derives virtual meters by subtraction, and flags
// anomalies.
//
// # Purity
//
// The package imports only the standard library and gonum. It does no I/O,
// reads no clock (callers pass "today" in), does not log and starts no
// goroutines. Everything it finds worth telling a user (a rollover, a reset, a
// typo, a negative balance) is returned as an Event.
//
// # Time
//
// Days are local calendar days in the Location the caller gives: a day starts
// at local midnight and lasts 23, 24 or 25 hours. A Day row carries the
// register at its midnight and the use during the day that starts there.
//
// # Units and numbers
//
// Readings are float64 in the meter's own Unit. NaN means "unknown" (never 0),
// for example the use of the last day of a series, whose end is not known yet.
package processing
