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
// The only state shared between calls is scratch memory: learning a
// profile, building a daily series and judging anomalies take their working
// buffers from sync.Pools, and Process gives a meter's learned profile back
// to one once the meter is done, so that a house's meters reuse one set
// instead of touching fresh memory per meter (on a small or virtual machine
// a first touch costs more than the arithmetic done in it). Results never
// depend on it: no part of a buffer is read that the same call has not
// written, which the tests check by learning a profile after others and
// comparing it with one learned first, and by processing a house after
// filling the pools with different values.
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
