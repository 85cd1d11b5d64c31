package mqtt

import "errors"

// Errors returned by Decoder.Decode. Every one means the payload can never
// become a reading, so the subscriber dead-letters it (with the wrapped error
// text as the reason) and acknowledges it; none of them is retried.
var (
	// ErrEmptyPayload is returned for a payload that is empty or only whitespace.
	ErrEmptyPayload = errors.New("empty payload")
	// ErrNotNumber is returned when the value is not a finite decimal number.
	ErrNotNumber = errors.New("not a number")
	// ErrUnavailable is returned for Home Assistant's "unavailable" and
	// "unknown" states: the entity has no value, which is not a reading.
	ErrUnavailable = errors.New("unavailable")
	// ErrInvalidJSON is returned when a JSON format's payload does not parse
	// as one JSON object.
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrNoField is returned when the configured field path is absent or null.
	ErrNoField = errors.New("field not found")
	// ErrBadTime is returned when a timestamp is present but cannot be parsed,
	// lies before 2000 (a device whose clock was never set) or lies more than a
	// day after the message arrived.
	ErrBadTime = errors.New("bad timestamp")
	// ErrDeviceError is returned when the producer itself reports a failed
	// reading (AI-on-the-edge's error field other than "no error").
	ErrDeviceError = errors.New("device reports error")
	// ErrTopicMismatch is returned when the meter cannot be taken from a
	// topic because the topic does not fit the MeterFromTopic template.
	ErrTopicMismatch = errors.New("topic does not fit meter template")
)

// Errors returned by NewDecoder and New for bad options. They are wrapped with
// the name of the offending field.
var (
	// ErrInvalidOption is returned for an option value that cannot work.
	ErrInvalidOption = errors.New("invalid option")
	// ErrInvalidFilter is returned for a topic filter that breaks MQTT's
	// wildcard rules ('+' and '#' must fill a whole level, '#' must be last).
	ErrInvalidFilter = errors.New("invalid topic filter")
)
