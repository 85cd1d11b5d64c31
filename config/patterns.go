package config

import (
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// patternSumTolerance is how far from 100 a pattern's sum may be before a
// Notice (the old pipeline's warning threshold; it normalised either way).
const patternSumTolerance = 0.5

// parsePatterns reads seasonal_patterns.yaml. keys holds the pattern keys in
// file order, for notices that need the meters.
func (p *fileParser) parsePatterns(root *yaml.Node) (patterns map[string]Pattern, keys []entry) {
	patterns = map[string]Pattern{}
	if root == nil {
		return patterns, keys
	}
	es, ok := p.mapping(root, "")
	if !ok {
		return patterns, keys
	}
	var list *yaml.Node
	p.walk(es, "", schema{fields: map[string]func(*yaml.Node, string){
		"patterns": func(v *yaml.Node, _ string) { list = v },
	}})
	if list == nil {
		return patterns, keys
	}
	pes, ok := p.mapping(list, "patterns")
	if !ok {
		return patterns, keys
	}
	for _, e := range pes {
		path := keyPath("patterns", e.name)
		keys = append(keys, e)
		if isNull(e.val) {
			p.fail(e.key, keyPath(path, "monthly_percentages"), fail(ErrMissing, "missing"))
			continue
		}
		ces, ok := p.mapping(e.val, path)
		if !ok {
			continue
		}
		pat := Pattern{Line: lineOf(e.key)}
		valid := false
		p.walk(ces, path, schema{fields: map[string]func(*yaml.Node, string){
			"monthly_percentages": func(v *yaml.Node, path string) {
				valid = p.percentages(v, path, &pat.MonthlyPercentages)
			},
			"description": set(&pat.Description, p.str),
		}})
		if !hasKey(ces, "monthly_percentages") {
			p.fail(e.key, keyPath(path, "monthly_percentages"), fail(ErrMissing, "missing"))
		}
		if valid {
			patterns[e.name] = pat
		}
	}
	return patterns, keys
}

// percentages reads exactly twelve non-negative numbers that do not sum to 0.
func (p *fileParser) percentages(v *yaml.Node, path string, dst *[12]float64) bool {
	seq := deref(v)
	if seq.Kind != yaml.SequenceNode {
		p.fail(v, path, fail(ErrInvalid, "want a list of 12 numbers (January to December), got %s", describe(v)))
		return false
	}
	if len(seq.Content) != 12 {
		p.fail(v, path, fail(ErrInvalid, "want 12 numbers (January to December), got %d", len(seq.Content)))
		return false
	}
	ok := true
	sum := 0.0
	for i, item := range seq.Content {
		f, good := p.float(item, indexPath(path, i))
		switch {
		case !good:
			ok = false
		case f < 0:
			p.fail(item, indexPath(path, i), fail(ErrInvalid, "must not be negative, got %v", f))
			ok = false
		default:
			dst[i] = f
			sum += f
		}
	}
	if !ok {
		return false
	}
	switch {
	case sum == 0 || math.IsInf(sum, 0):
		p.fail(v, path, fail(ErrInvalid, "the twelve numbers sum to %v; want a positive sum, normally 100", sum))
		return false
	case math.Abs(sum-100) > patternSumTolerance:
		rounded := strconv.FormatFloat(math.Round(sum*1000)/1000, 'f', -1, 64)
		p.notice(v, path, "sum to %s, not 100; shares are normalised to 100", rounded)
	}
	return true
}

// checkPatternMeters notes patterns that will not be used: patterns shape the
// extrapolation of physical meters only (the old pipeline ignored patterns of
// master meters too, W-24).
func (p *fileParser) checkPatternMeters(meters []Meter, patterns map[string]Pattern, keys []entry) {
	types := make(map[string]string, len(meters))
	for _, m := range meters {
		if _, dup := types[m.ID]; !dup {
			types[m.ID] = m.Type
		}
	}
	for _, e := range keys {
		id, k := e.name, e.key
		if _, ok := patterns[id]; !ok {
			continue
		}
		path := keyPath("patterns", id)
		switch t, ok := types[id]; {
		case !ok:
			p.notice(k, path, "no meter %q in %s; the pattern is not used", id, MetersFile)
		case t != TypePhysical && t != "":
			p.notice(k, path, "%q is a %s meter; patterns apply to physical meters only, so it is not used", id, t)
		}
	}
}
