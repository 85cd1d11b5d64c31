package config

import (
	"fmt"
	"strconv"
)

// Errors wrapped by the *FieldError values that Load returns. Test for them
// with errors.Is; the message of a FieldError says more.
var (
	// ErrSyntax is returned when a file is not valid YAML.
	ErrSyntax = fmtError("invalid YAML")
	// ErrUnknownKey is returned for a key that neither meteragent nor the old
	// pipeline knows, usually a typo.
	ErrUnknownKey = fmtError("unknown key")
	// ErrMissing is returned when a required key, value or file is absent.
	ErrMissing = fmtError("missing")
	// ErrDuplicate is returned for a key or meter id given twice.
	ErrDuplicate = fmtError("duplicate")
	// ErrInvalid is returned for a value of the wrong type, format or range.
	ErrInvalid = fmtError("invalid value")
	// ErrUnit is returned for a unit meteragent cannot convert, or for units
	// that contradict each other.
	ErrUnit = fmtError("unsupported unit")
	// ErrUnknownMeter is returned when a meter or pattern names a meter id
	// that meters.yaml does not define.
	ErrUnknownMeter = fmtError("unknown meter")
	// ErrCycle is returned when master or virtual meters depend on each other
	// in a cycle.
	ErrCycle = fmtError("meter dependency cycle")
)

// fmtError is the type of the sentinels, so that they cannot be reassigned
// to a different kind of error by accident and print their own text.
type fmtError string

func (e fmtError) Error() string { return string(e) }

// detailError carries a full message and unwraps to a sentinel, so messages
// can read naturally ("want a list, got ...") and still match errors.Is.
type detailError struct {
	msg  string
	kind error
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.kind }

// fail returns an error with a formatted message that wraps kind.
func fail(kind error, format string, args ...any) error {
	return &detailError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// FieldError is one problem in a configuration file, located by file, line
// and key path. Load joins every FieldError it finds with errors.Join.
type FieldError struct {
	File string // file name within the configuration directory, e.g. "meters.yaml"
	Line int    // 1-based line; 0 when the problem concerns the whole file
	Path string // key path, e.g. "meters[3].installation_date"; "" for the whole file
	Err  error
}

// Error formats the problem as "meters.yaml:12: meters[3].installation_date: <msg>".
func (e *FieldError) Error() string {
	return location(e.File, e.Line, e.Path) + e.Err.Error()
}

// Unwrap returns the underlying error (usually wrapping one of the Err* sentinels).
func (e *FieldError) Unwrap() error { return e.Err }

// Notice reports a key that is accepted but has no effect in meteragent (it
// came from the old pipeline), or a value that is valid but probably not
// what the user meant. Notices never stop Load.
type Notice struct {
	File    string
	Line    int
	Path    string
	Message string
}

// String formats the notice like a FieldError.
func (n Notice) String() string {
	return location(n.File, n.Line, n.Path) + n.Message
}

func location(file string, line int, path string) string {
	s := file
	if line > 0 {
		s += ":" + strconv.Itoa(line)
	}
	s += ": "
	if path != "" {
		s += path + ": "
	}
	return s
}
