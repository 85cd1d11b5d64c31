package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// The files are decoded into yaml.Node trees rather than structs so that
// every value, including the ones that fail validation, keeps its line, and
// so that keys of the old pipeline can be told apart from typos.

// fileParser collects the problems and notices of one file.
type fileParser struct {
	file    string
	errs    []*FieldError
	notices []Notice
}

func (p *fileParser) fail(n *yaml.Node, path string, err error) {
	p.errs = append(p.errs, &FieldError{File: p.file, Line: lineOf(n), Path: path, Err: err})
}

func (p *fileParser) notice(n *yaml.Node, path, format string, args ...any) {
	p.notices = append(p.notices, Notice{File: p.file, Line: lineOf(n), Path: path, Message: fmt.Sprintf(format, args...)})
}

func lineOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// yamlLineRE is compiled on first use, for a syntax error: not at every start.
var yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// parse decodes data into its root node; an empty file or document gives nil.
// A syntax error is recorded and reported as ok == false.
func (p *fileParser) parse(data []byte) (root *yaml.Node, ok bool) {
	root, err := decodeRoot(data)
	if err == nil {
		return root, true
	}
	line := 0
	msg := err.Error()
	if m := yamlLineRE().FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.errs = append(p.errs, &FieldError{File: p.file, Line: line, Err: fail(ErrSyntax, "%s", msg)})
	return nil, false
}

func decodeRoot(data []byte) (root *yaml.Node, err error) {
	// A library must not panic on bad input; yaml.v3 has had panics on
	// malformed documents, so turn one into an error.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("yaml: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("yaml: line %d: a second YAML document; the file must hold one", extra.Line)
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil
	}
	return doc.Content[0], nil
}

// deref follows aliases to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		v := n.Value
		if r := []rune(v); len(r) > 40 {
			v = string(r[:40]) + "…"
		}
		if n.ShortTag() == "!!str" {
			return strconv.Quote(v)
		}
		return v
	}
	return "an unsupported YAML node"
}

// keyPath appends key to path; keys that are not plain identifiers are quoted.
func keyPath(path, key string) string {
	if isIdent(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// entry is one key/value pair of a mapping.
type entry struct {
	name     string
	key, val *yaml.Node
}

// mapping returns the pairs of a mapping node in file order, reporting a
// non-mapping and duplicate keys (yaml.v3 does not when decoding to nodes).
func (p *fileParser) mapping(n *yaml.Node, path string) ([]entry, bool) {
	m := deref(n)
	if m == nil || m.Kind != yaml.MappingNode {
		p.fail(n, path, fail(ErrInvalid, "want a mapping of keys, got %s", describe(n)))
		return nil, false
	}
	seen := make(map[string]int, len(m.Content)/2)
	out := make([]entry, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		name := deref(k).Value
		if first, dup := seen[name]; dup {
			p.fail(k, keyPath(path, name), fail(ErrDuplicate, "duplicate key (first at line %d)", first))
			continue
		}
		seen[name] = k.Line
		out = append(out, entry{name: name, key: k, val: v})
	}
	return out, true
}

// schema says what to do with each key of a mapping.
type schema struct {
	fields  map[string]func(v *yaml.Node, path string) // called for non-null values
	ignored map[string]string                          // accepted keys without effect: key -> notice
}

// walk dispatches the pairs of a mapping by schema. Unknown keys are errors
// (with a suggestion for typos); null values count as absent.
func (p *fileParser) walk(es []entry, path string, s schema) {
	for _, e := range es {
		kp := keyPath(path, e.name)
		if fn, ok := s.fields[e.name]; ok {
			if !isNull(e.val) {
				fn(e.val, kp)
			}
			continue
		}
		if msg, ok := s.ignored[e.name]; ok {
			p.notice(e.key, kp, "%s", msg)
			continue
		}
		p.fail(e.key, kp, unknownKey(e.name, s))
	}
}

func unknownKey(name string, s schema) error {
	best, bestD := "", 3
	try := func(k string) {
		if d := editDistance(strings.ToLower(name), k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	for k := range s.fields {
		try(k)
	}
	for k := range s.ignored {
		try(k)
	}
	if best != "" {
		return fail(ErrUnknownKey, "unknown key (did you mean %s?)", best)
	}
	return ErrUnknownKey
}

// editDistance is the Levenshtein distance, used only to suggest a key.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// scalar returns n's scalar node, reporting anything else.
func (p *fileParser) scalar(n *yaml.Node, path, want string) (*yaml.Node, bool) {
	s := deref(n)
	if s == nil || s.Kind != yaml.ScalarNode || s.ShortTag() == "!!null" {
		p.fail(n, path, fail(ErrInvalid, "want %s, got %s", want, describe(n)))
		return nil, false
	}
	return s, true
}

// str accepts any scalar: the old pipeline would have read an unquoted
// number as a number, but its text is what the user meant.
func (p *fileParser) str(n *yaml.Node, path string) (string, bool) {
	s, ok := p.scalar(n, path, "a string")
	if !ok {
		return "", false
	}
	return s.Value, true
}

func (p *fileParser) float(n *yaml.Node, path string) (float64, bool) {
	s, ok := p.scalar(n, path, "a number")
	if !ok {
		return 0, false
	}
	if tag := s.ShortTag(); tag == "!!int" || tag == "!!float" {
		var f float64
		if err := s.Decode(&f); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	p.fail(n, path, fail(ErrInvalid, "want a number, got %s", describe(s)))
	return 0, false
}

func (p *fileParser) int(n *yaml.Node, path string) (int, bool) {
	s, ok := p.scalar(n, path, "a whole number")
	if !ok {
		return 0, false
	}
	if s.ShortTag() == "!!int" {
		var i int64
		if err := s.Decode(&i); err == nil && i >= math.MinInt32 && i <= math.MaxInt32 {
			return int(i), true
		}
	}
	p.fail(n, path, fail(ErrInvalid, "want a whole number, got %s", describe(s)))
	return 0, false
}

// yaml11Bools are the plain words PyYAML (YAML 1.1) read as booleans; yaml.v3
// reads them as strings, so accept them here to load old files unchanged.
var yaml11Bools = map[string]bool{"yes": true, "on": true, "y": true, "no": false, "off": false, "n": false}

func (p *fileParser) bool(n *yaml.Node, path string) (bool, bool) {
	s, ok := p.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	if s.ShortTag() == "!!bool" {
		var b bool
		if err := s.Decode(&b); err == nil {
			return b, true
		}
	}
	if s.Style == 0 {
		if b, ok := yaml11Bools[strings.ToLower(s.Value)]; ok {
			return b, true
		}
	}
	p.fail(n, path, fail(ErrInvalid, "want true or false, got %s", describe(s)))
	return false, false
}

// date accepts quoted and unquoted dates: yaml.v3 tags an unquoted one as a
// timestamp, which the old pipeline crashed on for 9999-12-31 (W-25).
func (p *fileParser) date(n *yaml.Node, path string) (Date, bool) {
	s, ok := p.scalar(n, path, "a date YYYY-MM-DD")
	if !ok {
		return Date{}, false
	}
	d, err := ParseDate(s.Value)
	if err != nil {
		p.fail(n, path, err)
		return Date{}, false
	}
	return d, true
}

// realDay is date for a day that must have happened or be able to: the open
// end 9999-12-31 is refused.
func (p *fileParser) realDay(n *yaml.Node, path string) (Date, bool) {
	d, ok := p.date(n, path)
	if ok && d.Open() {
		p.fail(n, path, fail(ErrInvalid, "must be a real day, not the open end %s", d))
		return Date{}, false
	}
	return d, ok
}

// id reads an id used in MQTT topics and the store; what names it in the
// error ("meter id", "id").
func (p *fileParser) id(n *yaml.Node, path, what string) (string, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return "", false
	}
	if !validID(s) {
		p.fail(n, path, fail(ErrInvalid, "%s %q must not be empty or contain blanks, '/', '+' or '#'", what, s))
		return "", false
	}
	return s, true
}

func (p *fileParser) unit(n *yaml.Node, path string) (string, bool) {
	s, ok := p.scalar(n, path, "a unit")
	if !ok {
		return "", false
	}
	u, ok := canonicalUnit(s.Value)
	if !ok {
		p.fail(n, path, fail(ErrUnit, "unsupported unit %q (want Wh, kWh, MWh, m³, m3 or L)", s.Value))
		return "", false
	}
	return u, true
}

// duration reads "90s"/"3h"; when seconds is true a bare number counts as
// seconds, which is how the old config.yaml wrote its intervals.
func (p *fileParser) duration(n *yaml.Node, path string, seconds bool) (time.Duration, bool) {
	want := `a positive duration like "3h"`
	if seconds {
		want = `a positive number of seconds or a duration like "30s"`
	}
	s, ok := p.scalar(n, path, want)
	if !ok {
		return 0, false
	}
	switch tag := s.ShortTag(); {
	case seconds && (tag == "!!int" || tag == "!!float"):
		var f float64
		if err := s.Decode(&f); err == nil && f > 0 && f < math.MaxInt64/float64(time.Second) {
			return time.Duration(f * float64(time.Second)), true
		}
	case tag == "!!str":
		if d, err := time.ParseDuration(strings.TrimSpace(s.Value)); err == nil && d > 0 {
			return d, true
		}
	}
	p.fail(n, path, fail(ErrInvalid, "want %s, got %s", want, describe(s)))
	return 0, false
}

// strList reads a list of strings; a single string is not accepted as a
// one-element list (the old pipeline iterated its characters).
func (p *fileParser) strList(n *yaml.Node, path string) ([]string, []*yaml.Node, bool) {
	seq := deref(n)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		p.fail(n, path, fail(ErrInvalid, "want a list, got %s", describe(n)))
		return nil, nil, false
	}
	out := make([]string, 0, len(seq.Content))
	nodes := make([]*yaml.Node, 0, len(seq.Content))
	ok := true
	for i, item := range seq.Content {
		v, good := p.str(item, indexPath(path, i))
		if !good {
			ok = false
			continue
		}
		out = append(out, v)
		nodes = append(nodes, item)
	}
	return out, nodes, ok
}

// idList is strList for meter ids: an id listed again is reported and left
// out. The ids come back in file order with their nodes.
func (p *fileParser) idList(n *yaml.Node, path string) ([]string, []*yaml.Node) {
	ids, nodes, _ := p.strList(n, path)
	seen := map[string]bool{}
	var outIDs []string
	var outNodes []*yaml.Node
	for j, id := range ids {
		if seen[id] {
			p.fail(nodes[j], indexPath(path, j), fail(ErrDuplicate, "%q is listed twice", id))
			continue
		}
		seen[id] = true
		outIDs = append(outIDs, id)
		outNodes = append(outNodes, nodes[j])
	}
	return outIDs, outNodes
}

// set returns a field handler that stores in *dst what read accepts.
func set[T any](dst *T, read func(*yaml.Node, string) (T, bool)) func(*yaml.Node, string) {
	return func(v *yaml.Node, path string) {
		if x, ok := read(v, path); ok {
			*dst = x
		}
	}
}
